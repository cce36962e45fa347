/**
 * report.html: one self-contained file. Inline CSS and inline SVG only: no
 * scripts, fonts, images or anything else fetched (a Content-Security-Policy
 * of default-src 'none' makes the browser refuse any request), so it opens
 * the same from a CI artifact, a mail attachment or an air-gapped host.
 */
import { bytes, fmt, fmtSimilarity, ms, pct, signedPct } from './format.js';
import { latencyFindings, latencyHtml } from './latency-report.js';
import { provenanceLine } from './markdown.js';
import { isNoisy, NOISE_Z } from './noise.js';
import { precisionColor } from './palette.js';
import { errorsSection } from './errors-section.js';
import { precisionSection } from './precision-section.js';
import { batchesOf, engineBytes, top1DeltaPoints, withRealizedCounts } from './record-view.js';
import { describeLowPrecision } from './summary.js';
import { accuracyChart, errorPercentileChart, historyTable, latencyCharts } from './run-charts.js';
import { esc } from './xml.js';
import type { CellComparison, GateCheck, RunRecord } from '../gen/schema/run-record.js';
import type { HistoryEntry } from '../store/history.js';

export interface HtmlInput {
  /** Earlier runs of the pipeline and this one, oldest first (history.ts historyFor). */
  history: HistoryEntry[];
}

export function renderHtml(record: RunRecord, input: HtmlInput): string {
  const errors = errorsSection(record);
  const sections: [string, string, string][] = [
    ['summary', 'Summary', summaryTable(record)],
    ...(record.gates?.checks.length ? [['gates', 'Gates', gatesTable(record.gates.checks)] as [string, string, string]] : []),
    ...(record.comparison ? [['baseline', `Against baseline ${record.comparison.baseline.name ?? record.comparison.baseline.id}`, comparisonTable(record.comparison.cells)] as [string, string, string]] : []),
    ['latency', 'Latency by precision and target', `<div class="charts">${latencyCharts(record)}</div>`],
    ['measured', 'Latency: how it was measured', latencyHtml(latencyFindings(record))],
    ['accuracy', 'Accuracy against FP32', `<div class="charts">${accuracyChart(record)}${errorPercentileChart(record)}</div>`],
    ['history', 'History', historyTable(record, input.history)],
    ['precision', 'Precision per node', precisionSection(record)],
    ...(errors ? [['errors', 'Where the error comes from', errors] as [string, string, string]] : []),
    ['provenance', 'Provenance', provenanceTable(record)],
  ];
  const nav = sections.map(([id, title]) => `<a href="#${id}">${esc(title)}</a>`).join(' · ');
  const status = record.gates?.failed ? 'gate-failed' : record.status;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>trtpipe ${esc(record.pipeline.name)} ${esc(record.id)}</title>`,
    `<style>${CSS}</style></head><body>`,
    `<header><h1>trtpipe: ${esc(record.pipeline.name)}</h1>`,
    `<p><span class="status ${esc(status)}">${esc(record.gates?.failed ? `${record.gates.failed} gate check(s) failed` : record.status)}</span> run <code>${esc(record.id)}</code>, ${esc(record.started.replace('T', ' ').slice(0, 19))} UTC, ${fmt(record.timings?.totalSeconds, 1)} s · ${esc(record.pipeline.file)}</p>`,
    `<p class="muted">${esc(provenanceLine(record))}</p>`,
    `<nav>${nav}</nav></header>`,
    ...sections.map(([id, title, body]) => `<section id="${id}"><h2>${esc(title)}</h2>${body}</section>`),
    '</body></html>',
    '',
  ].join('\n');
}

function summaryTable(record: RunRecord): string {
  const batches = batchesOf(record);
  const head = ['cell', 'precision', 'target', 'status', 'top-1', 'Δ vs FP32', 'cosine', 'rel p99', ...batches.flatMap((b) => [`p50 b${b}`, `p99 b${b}`]), 'engine', 'low-precision nodes', 'cached'];
  const rows = record.cells.map((c) => {
    const a = c.accuracy;
    const d = top1DeltaPoints(c);
    const cache = c.provenance?.cache;
    const cells = [
      `<th scope="row">${esc(c.name)}</th>`,
      `<td><i class="sw" style="background:${precisionColor(c.precision)}"></i>${esc(c.precision)}</td>`,
      `<td>${esc(c.target)}</td>`,
      `<td><span class="status ${esc(c.status)}">${esc(c.status)}</span>${c.failure ? ` <span class="muted" title="${esc(c.failure.message)}">${esc(c.failure.stage)}: ${esc(c.failure.code)}</span>` : ''}</td>`,
      `<td class="n">${pct(a.top1)}</td>`,
      `<td class="n">${d === undefined ? '–' : `${d >= 0 ? '+' : ''}${d.toFixed(2)}`}</td>`,
      `<td class="n">${fmtSimilarity(a.cosine)}${a.nonfinite ? ` <b>(${a.nonfinite} NaN/Inf)</b>` : ''}</td>`,
      `<td class="n">${fmt(a.rel_p99)}</td>`,
      ...batches.flatMap((b) => [`<td class="n">${ms(c.latency[b]?.latency_p50_ms)}${isNoisy(c.noise, b) ? ' <span class="worse" title="latency varies more than benchmark.noise_max">noisy</span>' : ''}</td>`, `<td class="n">${ms(c.latency[b]?.latency_p99_ms)}</td>`]),
      `<td class="n">${bytes(engineBytes(record, c))}</td>`,
      `<td class="n">${esc(describeLowPrecision(withRealizedCounts(record, c)))}</td>`,
      `<td class="n">${cache ? `${cache.hits}/${cache.stages}` : '–'}</td>`,
    ];
    return `<tr>${cells.join('')}</tr>`;
  });
  return `<div class="scroll"><table class="summary"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function gatesTable(checks: GateCheck[]): string {
  const order = { fail: 0, pass: 1, skip: 2 };
  const rows = [...checks]
    .sort((a, b) => order[a.status] - order[b.status])
    .map((g) => `<tr class="${g.status}"><td>${esc(g.gate)}</td><td>${esc(g.name)}</td><td><span class="status ${g.status}">${g.status}</span></td><td>${esc(g.against)}</td><td>${esc(g.message)}</td></tr>`);
  return `<table class="gates"><thead><tr><th>gate</th><th>cell</th><th>result</th><th>against</th><th>detail</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function comparisonTable(cells: CellComparison[]): string {
  const batches = [...new Set(cells.flatMap((c) => c.latency.map((l) => l.batch)))].sort((a, b) => Number(a) - Number(b));
  const head = ['cell', ...batches.map((b) => `p50 b${b}`), 'top-1', 'cosine', 'engine', 'precision drift'];
  const rows = cells.map((c) => {
    if (c.status !== 'compared') return `<tr><th scope="row">${esc(c.name)}</th><td colspan="${head.length - 1}" class="muted">${c.status === 'not-in-baseline' ? 'not in the baseline' : 'did not complete in one of the runs'}</td></tr>`;
    const lat = batches.map((b) => {
      const m = c.latency.find((l) => l.batch === b)?.p50;
      if (!m) return '<td>–</td>';
      const cls = m.significant ? (m.delta > 0 ? 'worse' : 'better') : 'same';
      return `<td class="n ${cls}" title="${esc(`${ms(m.baseline.center)} -> ${ms(m.current.center)}; noise band ±${ms(m.band)} (${m.baseline.source}/${m.current.source})`)}">${signedPct(m.relative)} <span class="muted">±${(m.bandRelative * 100).toFixed(1)}%</span></td>`;
    });
    const top1 = c.top1 ? `<td class="n ${c.top1.deltaPoints < -1e-9 ? 'worse' : ''}">${c.top1.deltaPoints >= 0 ? '+' : ''}${c.top1.deltaPoints.toFixed(2)} pts</td>` : '<td>–</td>';
    const cos = c.cosine ? `<td class="n ${c.cosine.delta < -1e-12 ? 'worse' : ''}">${fmt(c.cosine.delta, 6)}</td>` : '<td>–</td>';
    const eng = c.engineBytes ? `<td class="n ${c.engineBytes.delta > 0 ? 'worse' : ''}">${signedPct(c.engineBytes.relative)}</td>` : '<td>–</td>';
    const drift = c.widened.length
      ? `<td class="worse">${c.widened.length} wider: ${c.widened.slice(0, 3).map((d) => `<code>${esc(d.node)}</code> ${esc(d.from)}→${esc(d.to)}`).join(', ')}${c.widened.length > 3 ? ', …' : ''}</td>`
      : `<td>${c.narrowed.length ? `${c.narrowed.length} narrower` : 'none'}</td>`;
    return `<tr><th scope="row">${esc(c.name)}</th>${lat.join('')}${top1}${cos}${eng}${drift}</tr>`;
  });
  return `<p class="muted">Latency: change of the median with its noise band (${NOISE_Z}σ of the difference, from the benchmark repeats, or from the run-to-run spread in the history when that is larger); red/green only outside the band.</p><div class="scroll"><table class="compare"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function provenanceTable(record: RunRecord): string {
  const short = (h?: string) => (h ? `<code title="${esc(h)}">${esc(h.slice(0, 12))}</code>` : '–');
  const rows = record.cells.map((c) => {
    const p = c.provenance;
    if (!p) return `<tr><th scope="row">${esc(c.name)}</th><td colspan="9" class="muted">no provenance in this record</td></tr>`;
    const gpu = p.gpus?.map((g) => `${g.name} SM ${g.computeCapability}, driver ${g.driver}, CUDA ${g.cuda}`).join('; ') ?? '–';
    const seconds = p.stages.reduce((s, t) => s + (t.seconds ?? 0), 0);
    const h = p.hashes;
    return `<tr><th scope="row">${esc(c.name)}</th><td>${esc(`${p.backend.name} ${p.backend.version ?? ''}`)}${p.backend.device ? ` (${esc(p.backend.device)})` : ''}</td><td>${esc(`${p.runner.version} @ ${p.runner.hostname}`)}</td><td>${esc(gpu)}</td><td>${short(h.model)}</td><td>${short(h.policy)}</td><td>${short(h.evaluationData)}</td><td>${short(h.lockfile)}</td><td>${short(h.buildSettings)}</td><td class="n">${p.cache.hits}/${p.cache.stages}, ${seconds.toFixed(2)} s</td></tr>`;
  });
  return `<div class="scroll"><table class="provenance"><thead><tr><th>cell</th><th>backend</th><th>runner</th><th>GPU</th><th>model</th><th>policy</th><th>eval data</th><th>lockfile</th><th>build settings</th><th>cached, stage time</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

const CSS = `
:root{color-scheme:light;--fg:#1d1d1f;--muted:#6b6b70;--line:#e2e2e6;--bad:#b3261e;--good:#1b7f3b}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1200px;padding:16px 24px 48px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#fff}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:17px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
nav a{color:#0b57d0;text-decoration:none}nav{margin:8px 0}
.muted{color:var(--muted)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{padding:3px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:#f6f6f8;font-weight:600;white-space:nowrap}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tbody th{font-weight:500;white-space:nowrap}
.status{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:600;background:#eee}
.status.ok,.status.pass{background:#dcf3e3;color:var(--good)}
.status.failed,.status.fail,.status.gate-failed,.status.interrupted{background:#fbe0de;color:var(--bad)}
.status.skip,.status.skipped{background:#eee;color:var(--muted)}
tr.fail td{background:#fff6f5}table.gates td:nth-child(-n+4){white-space:nowrap}
.worse{color:var(--bad)}.better{color:var(--good)}
i.sw,.nodes td i,.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.legend{display:flex;flex-wrap:wrap;gap:12px;margin:4px 0 10px;font-size:12px}
.legend i.flag{border:2px solid #111;background:#fff}
.charts{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
figure{margin:0;max-width:100%}figure svg{max-width:100%;height:auto}figcaption{font-size:12px;color:var(--muted)}
details.cell-precision{border:1px solid var(--line);border-radius:6px;margin:8px 0;padding:6px 10px}
details.cell-precision summary{cursor:pointer}
.graph-wrap{overflow-x:auto;margin:8px 0}
table.nodes td.node{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
table.nodes td.detail{color:var(--muted);font-size:12px;min-width:14em}
.scroll.rows{max-height:80vh;overflow:auto}.scroll.rows thead th{position:sticky;top:0;z-index:1}
table.nodes tr.diff td{background:#fff8e6}
table.history td{vertical-align:middle}svg.spark{vertical-align:middle}.spark-last{font-size:12px;margin-left:6px;font-variant-numeric:tabular-nums}
svg text{font-family:inherit}
@media print{details{display:block}nav{display:none}}
`;
