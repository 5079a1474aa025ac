// Preloaded into every supervised component (`--import`): when the supervisor goes away —
// stopped, crashed or SIGKILLed — its IPC channel closes and the component stops too, so no
// process is ever orphaned, whatever the component's own code does.

/** How long a component may drain after its supervisor is gone before it is ended (tests shorten it). */
const ORPHAN_GRACE_MS = Number(process.env.MAIL_ORPHAN_GRACE_MS ?? 5000);

if (process.channel) {
  // The channel only watches the parent; it must not keep the component alive by itself.
  process.channel.unref();
  process.once('disconnect', () => {
    // SIGTERM runs the component's own graceful shutdown if it has one, else ends it.
    setTimeout(() => process.exit(1), ORPHAN_GRACE_MS).unref();
    process.kill(process.pid, 'SIGTERM');
  });
}
