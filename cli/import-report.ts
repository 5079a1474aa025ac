// How `mailctl import` shows its progress: one status line redrawn on a terminal (folders,
// messages and bytes done of total, rate, ETA), a plain line per folder otherwise, JSON lines
// with --json; then the summary with every failed message and its reason.
import type { Writable } from 'node:stream';
import type { FolderSummary, ImportEvent, ImportSummary } from '../core/migrate/importer.ts';
import { printable } from './output.ts';

const MB = 1024 * 1024;
const mb = (bytes: number) => (bytes / MB).toFixed(1);

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

const folderLine = (f: FolderSummary) =>
  `${printable(f.name)}${f.target !== f.name ? ` → ${printable(f.target)}` : ''}: ${f.copied} copied, ${f.skipped} already present, ${f.failed} failed${f.error ? ` (stopped: ${printable(f.error)})` : ''}`;

export class ImportReport {
  private folders = 0;
  private foldersDone = 0;
  private messages = 0;
  private bytes = 0;
  private messagesDone = 0;
  private bytesDone = 0;
  private current = '';
  private readonly started = Date.now();
  private lastDraw = 0;

  constructor(
    private readonly stdout: Writable,
    private readonly stderr: Writable & { isTTY?: boolean; columns?: number },
    private readonly mode: 'terminal' | 'lines' | 'json',
  ) {}

  static for(stdout: Writable, stderr: Writable & { isTTY?: boolean }, json: boolean): ImportReport {
    return new ImportReport(stdout, stderr, json ? 'json' : stderr.isTTY ? 'terminal' : 'lines');
  }

  readonly onEvent = (event: ImportEvent): void => {
    switch (event.kind) {
      case 'planned':
        this.folders = event.folders.length;
        this.messages = event.messages;
        this.bytes = event.bytes;
        if (this.mode === 'json') this.json({ event: 'planned', folders: event.folders, skippedFolders: event.skipped, messages: event.messages, bytes: event.bytes });
        else {
          for (const s of event.skipped) this.stdout.write(`${printable(s.name)}: skipped, ${s.reason}\n`);
          this.stdout.write(`to copy: ${event.messages} messages, ${mb(event.bytes)} MB in ${event.folders.length} folders\n`);
        }
        break;
      case 'folder-start':
        this.current = event.name;
        this.draw(true);
        break;
      case 'message':
        this.messagesDone++;
        this.bytesDone += event.bytes;
        this.draw(false);
        break;
      case 'folder-done':
        this.foldersDone++;
        if (this.mode === 'json') this.json({ event: 'folder', ...event.folder });
        else {
          this.clear();
          this.stdout.write(`${folderLine(event.folder)}\n`);
          this.draw(true);
        }
        break;
    }
  };

  private json(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value)}\n`);
  }

  private clear(): void {
    if (this.mode === 'terminal') this.stderr.write('\r\x1b[K');
  }

  private draw(force: boolean): void {
    if (this.mode !== 'terminal') return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 200) return;
    this.lastDraw = now;
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? this.messagesDone / seconds : 0;
    const byteRate = seconds > 0 ? this.bytesDone / seconds : 0;
    const eta = byteRate > 0 ? (this.bytes - this.bytesDone) / byteRate : rate > 0 ? (this.messages - this.messagesDone) / rate : Infinity;
    const line =
      `folders ${this.foldersDone}/${this.folders}  messages ${this.messagesDone}/${this.messages}  ${mb(this.bytesDone)}/${mb(this.bytes)} MB  ` +
      `${rate.toFixed(0)} msg/s ${mb(byteRate)} MB/s  ETA ${duration(eta)}  ${printable(this.current)}`;
    this.stderr.write(`\r\x1b[K${line.slice(0, Math.max(20, (this.stderr.columns ?? 120) - 1))}`);
  }

  summary(summary: ImportSummary): void {
    this.clear();
    if (this.mode === 'json') {
      this.json({ event: 'summary', ...summary });
      return;
    }
    for (const f of summary.failures) this.stdout.write(`failed: ${printable(f.folder)} UID ${f.uid}: ${printable(f.reason)}\n`);
    this.stdout.write(
      `copied ${summary.copied}, already present ${summary.skipped}, failed ${summary.failed}; ` +
        `${mb(summary.bytes)} MB in ${summary.seconds.toFixed(1)} s (${summary.messagesPerSecond.toFixed(1)} msg/s, ${summary.megabytesPerSecond.toFixed(2)} MB/s)\n`,
    );
  }
}
