# imaplib with RFC 4978 COMPRESS=DEFLATE, as a client that wraps its socket with zlib would do it:
# after compress(), every send() is one deflate block ended by a sync flush (RFC 4978 §4), and
# read()/readline() inflate what arrives. imported by the IMAP tests' Python scripts.
import imaplib
import zlib

# imaplib checks each command's state against this table; RFC 4978 §3: after login.
imaplib.Commands.setdefault('COMPRESS', ('AUTH', 'SELECTED'))


class DeflateIMAP4(imaplib.IMAP4):
    deflating = False
    #: every compressed octet received, to show the wire is not cleartext
    raw_received = b''

    def compress(self):
        typ, data = self._simple_command('COMPRESS', 'DEFLATE')
        if typ == 'OK':
            self.start_deflate()
        return typ, data

    def start_deflate(self):
        self._deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
        self._inflater = zlib.decompressobj(-15)
        self._inbuf = b''
        self.deflating = True

    def send(self, data, flush=True):
        if not self.deflating:
            return super().send(data)
        block = self._deflater.compress(data)
        if flush:
            block += self._deflater.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(block)

    def _fill(self):
        raw = self.sock.recv(65536)
        if not raw:
            raise imaplib.IMAP4.abort('connection closed')
        self.raw_received += raw
        self._inbuf += self._inflater.decompress(raw)

    def read(self, size):
        if not self.deflating:
            return super().read(size)
        while len(self._inbuf) < size:
            self._fill()
        out, self._inbuf = self._inbuf[:size], self._inbuf[size:]
        return out

    def readline(self):
        if not self.deflating:
            return super().readline()
        while b'\n' not in self._inbuf:
            self._fill()
        end = self._inbuf.index(b'\n') + 1
        out, self._inbuf = self._inbuf[:end], self._inbuf[end:]
        return out

    def raw_command(self, tag, line):
        """Sends `tag line` and returns every response line up to the tagged one (literals inlined)."""
        self.send(tag.encode() + b' ' + line + b'\r\n')
        return self.read_until(tag)

    def read_until(self, tag):
        lines = []
        while True:
            line = self.readline()
            while line.endswith(b'}\r\n') and b'{' in line:
                n = int(line[line.rindex(b'{') + 1:-3].rstrip(b'+'))
                line = line + self.read(n) + self.readline()
            lines.append(line.decode('utf-8', 'replace').rstrip('\r\n'))
            if line.startswith(tag.encode() + b' '):
                return lines
