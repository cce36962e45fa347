/**
 * The charts of the HTML report, from a run record: latency by precision and
 * target (one chart per batch size), top-1 change against the FP32 reference,
 * error percentiles, and history trends per cell.
 */
import { fmt, fmtSimilarity, ms, pct } from './format.js';
import { series } from './history.js';
import { NO_PRECISION_COLOR, PRECISION_ORDER, SERIES_COLORS, precisionColor } from './palette.js';
import { batchesOf, top1DeltaPoints } from './record-view.js';
import { divergingBars, groupedBars, logRangeChart, sparkline } from './svg-charts.js';
import { esc } from './xml.js';
import type { RunRecord } from '../gen/schema/run-record.js';
import type { HistoryEntry } from '../store/history.js';

function precisionsOf(record: RunRecord): string[] {
  const present = new Set(record.cells.map((c) => c.precision));
  return [...PRECISION_ORDER.filter((p) => present.has(p)), ...[...present].filter((p) => !PRECISION_ORDER.includes(p))];
}

function targetsOf(record: RunRecord): string[] {
  return [...new Set(record.cells.map((c) => c.target))];
}

/** One grouped bar chart per batch size: groups are targets, bars precisions; bar p50, whisker p99. */
export function latencyCharts(record: RunRecord): string {
  const precisions = precisionsOf(record);
  const targets = targetsOf(record);
  const batches = batchesOf(record);
  if (!batches.length) return '<p class="muted">No latency measured (no benchmark stage completed).</p>';
  return batches
    .map((b) => {
      const groups = targets.map((t) => ({
        label: t,
        bars: precisions.map((p) => {
          const cell = record.cells.find((c) => c.target === t && c.precision === p);
          const l = cell?.latency[b];
          return {
            value: l?.latency_p50_ms,
            whisker: l?.latency_p99_ms,
            color: precisionColor(p),
            title: cell ? `${cell.name} batch ${b}: p50 ${ms(l?.latency_p50_ms)}, p99 ${ms(l?.latency_p99_ms)}` : `${p} on ${t}: not in the matrix`,
          };
        }),
      }));
      const chart = groupedBars({
        cls: 'chart-latency',
        label: `latency at batch ${b} by precision and target`,
        yLabel: 'ms',
        groups,
        legend: precisions.map((p) => ({ label: p, color: precisionColor(p) })),
        format: (v) => fmt(v, 3),
      });
      return `<figure>${chart}<figcaption>Batch ${esc(b)}: p50 latency (bar) and p99 (whisker), ms</figcaption></figure>`;
    })
    .join('');
}

/**
 * Accuracy against the FP32 reference in the metric that fits the model: with
 * labels, task top-1 change in points; without (embeddings, regressions, where
 * an arg-max means nothing), 1 - cosine on a log scale.
 */
export function accuracyChart(record: RunRecord): string {
  const withLabels = record.cells.some((c) => top1DeltaPoints(c) !== undefined);
  if (!withLabels) return cosineChart(record);
  const rows = record.cells.map((c) => {
    const v = top1DeltaPoints(c);
    return {
      label: c.name,
      value: c.status === 'ok' ? v : undefined,
      color: precisionColor(c.precision),
      text: c.status !== 'ok' ? c.status : v === undefined ? 'not measured' : `${v >= 0 ? '+' : ''}${v.toFixed(2)} pts (${pct(c.accuracy.top1)})`,
    };
  });
  const chart = divergingBars({ cls: 'chart-accuracy', label: 'top-1 change against FP32', rows, minSpan: 0.5, format: (v) => `${v > 0 ? '+' : ''}${v.toFixed(2)}` });
  return `<figure>${chart}<figcaption>Task top-1 minus the FP32 reference's top-1, in percentage points</figcaption></figure>`;
}

/** 1 - cosine similarity with the FP32 reference per cell (worst output), log scale. */
function cosineChart(record: RunRecord): string {
  const rows = record.cells.map((c) => {
    const cos = c.accuracy.cosine;
    const gap = c.status === 'ok' && cos !== undefined && !c.accuracy.nonfinite ? 1 - cos : undefined;
    return { label: c.name, points: [{ name: `cosine ${fmtSimilarity(cos)}`, value: gap, color: precisionColor(c.precision) }] };
  });
  const chart = logRangeChart({
    cls: 'chart-accuracy',
    label: '1 - cosine similarity against FP32',
    rows,
    legend: [],
    format: (v) => v.toExponential(0),
  });
  return `<figure>${chart}<figcaption>1 − cosine similarity with the FP32 reference (worst output; log scale, smaller is closer). No labels: top-1 does not apply</figcaption></figure>`;
}

/** rel_p50 / rel_p90 / rel_p99 of the relative error against FP32, per cell, log scale. */
export function errorPercentileChart(record: RunRecord): string {
  const keys = [['rel_p50', 'p50'], ['rel_p90', 'p90'], ['rel_p99', 'p99']] as const;
  const rows = record.cells.map((c) => ({
    label: c.name,
    points: keys.map(([k, name], i) => ({ name, value: c.status === 'ok' ? c.accuracy[k] : undefined, color: SERIES_COLORS[i]! })),
  }));
  const chart = logRangeChart({
    cls: 'chart-errors',
    label: 'relative error percentiles against FP32',
    rows,
    legend: keys.map(([, name], i) => ({ label: name, color: SERIES_COLORS[i]! })),
    format: (v) => v.toExponential(0),
  });
  return `<figure>${chart}<figcaption>Relative error against the FP32 reference: 50th, 90th and 99th percentile over all output elements (log scale)</figcaption></figure>`;
}

/** A table with one row per cell and sparklines of p50 latency, top-1 and cosine over the runs. */
export function historyTable(record: RunRecord, history: HistoryEntry[]): string {
  if (history.length < 2) return `<p class="muted">History starts with this run (${history.length} run of ${esc(record.pipeline.name)} in .trtpipe/history.jsonl); trends appear from the second run on.</p>`;
  const batch = batchesOf(record)[0];
  const first = history[0]!;
  const rows = record.cells.map((c) => {
    const p50 = batch ? series(history, c.id, (h) => h.latency[batch]?.p50) : [];
    const top1 = series(history, c.id, (h) => h.top1);
    const cos = series(history, c.id, (h) => h.cosine);
    const color = precisionColor(c.precision);
    const cellFor = (values: (number | undefined)[], label: string, format: (v: number) => string) => {
      const known = values.filter((v): v is number => v !== undefined);
      const last = values.at(-1);
      const title = known.length ? `${c.name} ${label}: ${known.length} runs, min ${format(Math.min(...known))}, max ${format(Math.max(...known))}, now ${last === undefined ? '–' : format(last)}` : `${c.name} ${label}: no data`;
      return `<td>${sparkline(values, { color: known.length ? color : NO_PRECISION_COLOR, title })}<span class="spark-last">${last === undefined ? '–' : esc(format(last))}</span></td>`;
    };
    return `<tr><th scope="row">${esc(c.name)}</th>${cellFor(p50, `p50 b${batch}`, ms)}${cellFor(top1, 'top-1', pct)}${cellFor(cos, 'cosine', (v) => fmtSimilarity(v))}</tr>`;
  });
  return [
    `<p class="muted">${history.length} runs of ${esc(record.pipeline.name)} from ${esc(first.time.slice(0, 16).replace('T', ' '))} to ${esc(history.at(-1)!.time.slice(0, 16).replace('T', ' '))} UTC (oldest left, this run last).</p>`,
    `<table class="history"><thead><tr><th>cell</th><th>p50 latency${batch ? ` b${esc(batch)}` : ''}</th><th>top-1</th><th>cosine</th></tr></thead><tbody>${rows.join('')}</tbody></table>`,
  ].join('');
}
