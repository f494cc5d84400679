// Yielding to the event loop: long work on a browser page's thread split
// into tasks, so that no one task holds the page.

/**
 * Resolves in a task of its own: a message posted to itself over a
 * MessageChannel (timers of nested calls wait at least 4 ms; a resolved
 * promise stays in the same task). Browsers, workers and Node alike.
 */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
