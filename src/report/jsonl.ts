// JSON Lines reporter: every run event as one JSON object, secrets masked.
import type { RunEvent } from '../engine/events.js';
import { redactValue } from '../secret.js';

export function createJsonlReporter(write: (text: string) => void): (e: RunEvent) => void {
  return (e) => write(`${JSON.stringify(redactValue(e))}\n`);
}
