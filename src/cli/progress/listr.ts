/**
 * Interactive progress (TTY): a listr2 task per stage. listr2 only
 * subscribes: each task waits for its stage's events from the scheduler.
 */
import { Listr } from 'listr2';
import type { StageGraph } from '../../plan/graph.js';
import type { SchedulerEvent } from '../../run/events.js';
import { describeLease } from '../../run/leases.js';
import type { ProgressSink } from './sink.js';

interface Slot {
  settle: (outcome: { ok: true; title: string } | { ok: false; error: string } | { skip: string }) => void;
  progress?: (msg: string) => void;
  started?: () => void;
}

export function listrProgress(graph: StageGraph): ProgressSink {
  const slots = new Map<string, Slot>();
  const pending = new Map<string, Promise<{ ok: true; title: string } | { ok: false; error: string } | { skip: string }>>();
  for (const n of graph.nodes) {
    let settle!: Slot['settle'];
    pending.set(n.id, new Promise((r) => (settle = r)));
    slots.set(n.id, { settle });
  }
  const list = new Listr(
    graph.nodes.map((n) => ({
      title: n.id,
      task: async (_ctx: unknown, task: { output: string; title: string; skip(message: string): void }) => {
        const slot = slots.get(n.id)!;
        task.output = 'waiting';
        slot.started = () => (task.output = 'running');
        slot.progress = (msg) => (task.output = msg);
        const outcome = await pending.get(n.id)!;
        if ('skip' in outcome) {
          task.skip(`${n.id}: skipped (${outcome.skip})`);
          return;
        }
        if (!outcome.ok) throw new Error(outcome.error);
        task.title = outcome.title;
      },
    })),
    { concurrent: true, exitOnError: false, collectErrors: false, renderer: 'default', rendererOptions: { collapseSubtasks: false, showErrorMessage: true } },
  );
  const running = list.run().catch(() => undefined);
  return {
    event(e: SchedulerEvent) {
      if (!('node' in e)) return;
      const slot = slots.get(e.node);
      if (!slot) return;
      if (e.type === 'stage-start') slot.started?.();
      else if (e.type === 'stage-progress') slot.progress?.(`${(e.fraction * 100).toFixed(0)}% ${e.message}`);
      else if (e.type === 'stage-lease') slot.progress?.(describeLease(e.lease));
      else if (e.type === 'stage-done') slot.settle({ ok: true, title: `${e.node} (${e.result.seconds.toFixed(2)}s${e.result.cached ? ', cached' : ''})` });
      else if (e.type === 'stage-failed') slot.settle({ ok: false, error: `${e.node}: ${e.failure.message}` });
      else if (e.type === 'stage-skipped') slot.settle({ skip: e.reason });
    },
    async done() {
      for (const s of slots.values()) s.settle({ skip: 'not run' });
      await running;
    },
  };
}
