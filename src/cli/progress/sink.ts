import type { SchedulerEvent } from '../../run/events.js';

/** Something that shows scheduler events to a person. */
export interface ProgressSink {
  event(e: SchedulerEvent): void;
  /** Called once after the last event; resolves when the display is final. */
  done(): Promise<void>;
}
