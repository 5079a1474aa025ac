// The import's progress as people and scripts see it: a redrawn status line on a terminal, a
// line per folder otherwise, JSON lines with --json, and failures listed in the summary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { ImportReport } from '../../cli/import-report.ts';
import type { ImportSummary } from '../../core/migrate/importer.ts';

function capture(tty: boolean) {
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), { isTTY: tty, columns: 200 });
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  return { stdout, stderr, out: () => out, err: () => err };
}

const SUMMARY: ImportSummary = {
  folders: [{ name: 'Sent Items', target: 'Sent', copied: 2, skipped: 0, failed: 1, bytes: 2048 }],
  skippedFolders: [],
  copied: 2,
  skipped: 0,
  failed: 1,
  failures: [{ folder: 'Sent Items', uid: 9, reason: 'the source did not return it (deleted meanwhile, or refused)' }],
  bytes: 2048,
  seconds: 2,
  messagesPerSecond: 1,
  megabytesPerSecond: 0.001,
  incomplete: false,
};

function play(report: ImportReport): void {
  report.onEvent({ kind: 'planned', folders: [{ name: 'Sent Items', target: 'Sent', messages: 3, bytes: 3 * 1024 * 1024, matched: false }], skipped: [{ name: '[Gmail]/All Mail', reason: 'virtual folder (\\All)' }], messages: 3, bytes: 3 * 1024 * 1024 });
  report.onEvent({ kind: 'folder-start', name: 'Sent Items', target: 'Sent' });
  report.onEvent({ kind: 'message', folder: 'Sent Items', outcome: 'copied', bytes: 1024 * 1024 });
  report.onEvent({ kind: 'folder-done', folder: SUMMARY.folders[0]! });
  report.summary(SUMMARY);
}

test('on a terminal: a status line with folders, messages, MB of the total, rate and ETA, on stderr', () => {
  const io = capture(true);
  play(ImportReport.for(io.stdout, io.stderr, false));
  assert.match(io.err(), /\r\x1b\[Kfolders 0\/1 {2}messages 0\/3 {2}0\.0\/3\.0 MB {2}\d+ msg\/s [\d.]+ MB\/s {2}ETA [\d:?h]+ {2}Sent Items/);
  assert.match(io.out(), /^Sent Items → Sent: 2 copied, 0 already present, 1 failed$/m);
  assert.match(io.out(), /^failed: Sent Items UID 9: the source did not return it/m);
});

test('not a terminal: no control sequences, a line per folder and the summary', () => {
  const io = capture(false);
  play(ImportReport.for(io.stdout, io.stderr, false));
  assert.equal(io.err(), '');
  assert.deepEqual(io.out().trimEnd().split('\n'), [
    '[Gmail]/All Mail: skipped, virtual folder (\\All)',
    'to copy: 3 messages, 3.0 MB in 1 folders',
    'Sent Items → Sent: 2 copied, 0 already present, 1 failed',
    'failed: Sent Items UID 9: the source did not return it (deleted meanwhile, or refused)',
    'copied 2, already present 0, failed 1; 0.0 MB in 2.0 s (1.0 msg/s, 0.00 MB/s)',
  ]);
});

test('--json: one object per line, planned, folder, summary', () => {
  const io = capture(true);
  play(ImportReport.for(io.stdout, io.stderr, true));
  const events = io.out().trimEnd().split('\n').map((l) => JSON.parse(l) as { event: string });
  assert.deepEqual(events.map((e) => e.event), ['planned', 'folder', 'summary']);
  assert.equal(io.err(), '', 'machine output only on stdout');
});
