// Test helper: the recorded event streams in fixtures/ (written by the server's own SSE framing,
// agents/events.py to_sse; tests/e2e/test_event_fixtures.py keeps them in step with it).

import approvalInterrupt from "./fixtures/approval_interrupt.sse?raw";
import approvalResume from "./fixtures/approval_resume.sse?raw";
import guidedIntake from "./fixtures/guided_intake.sse?raw";
import toolFailure from "./fixtures/tool_failure.sse?raw";
import { parseEvent, type ChatEvent } from "./events";
import { SseParser } from "./sse";

export const recordings = { approvalInterrupt, approvalResume, guidedIntake, toolFailure };

/** The events of a recorded stream, parsed as the browser would. */
export function eventsOf(stream: string): ChatEvent[] {
  return new SseParser()
    .feed(stream)
    .map((frame) => parseEvent(frame.event, frame.data))
    .filter((event): event is ChatEvent => event !== null);
}
