/**
 * `trtpipe init <model.onnx> [-o FILE] [--name NAME] [--eval DATA.npz] [--calib DATA.npz]`:
 * asks the local runner to inspect the model and writes a starter pipeline
 * with its real input names and shapes. Never overwrites a file. The text is
 * loaded and validated before it is written: a starter that does not validate
 * is a bug.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadPipelineText } from '../../config/load.js';
import { renderDiagnostics } from '../../config/render.js';
import { nameFromModel, starterPipeline, type TensorInfo } from '../../config/starter.js';
import { PACKAGE_ROOT, SCHEMA_PATH } from '../../paths.js';
import { spawnLocalRunner } from '../../runner-client/local-runner.js';
import { RunnerCallError } from '../../runner-client/runner-call-error.js';
import { RunnerClient } from '../../runner-client/runner-client.js';
import { refOf } from '../../run/artifact-mover.js';
import { modelArtifact } from '../../run/model-files.js';
import { npzKeys } from '../../store/npz-keys.js';
import { stateDir } from '../../store/state-dir.js';
import { ExitCode } from '../exit-codes.js';
import { InputError, RunnerUnavailableError } from '../../errors.js';
import { stateRootOf } from '../state-root.js';
import { prepareLocalRunner } from '../local-runner-setup.js';

const USAGE = 'usage: trtpipe init <model.onnx> [-o pipelines/<name>.yaml] [--name NAME] [--eval DATA.npz] [--calib DATA.npz]';
/** Array names taken for class labels when the evaluation data has one. */
const LABEL_NAMES = ['labels', 'label', 'targets', 'y'];

interface ModelDetails {
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  op_counts: Record<string, number>;
  opset?: number;
}

export default async function init(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        name: { type: 'string' },
        eval: { type: 'string' },
        calib: { type: 'string' },
        'state-dir': { type: 'string' },
        python: { type: 'string' },
      },
    });
  } catch (err) {
    throw new InputError(`${(err as Error).message}; ${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new InputError(USAGE);
  const model = path.resolve(positionals[0]!);
  requireFile(model, positionals[0]!, 'model');
  const name = values.name ?? nameFromModel(model);
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name) || name.length > 64) {
    throw new InputError(`--name '${name}': use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit`);
  }
  const output = path.resolve(values.output ?? path.join('pipelines', `${name}.yaml`));
  const shown = (f: string) => path.relative(process.cwd(), f) || f;
  if (existsSync(output)) throw new InputError(`${shown(output)} already exists; trtpipe init never overwrites a file. Choose another with -o, or delete it`);
  const beside = (file: string) => (existsSync(path.join(path.dirname(model), file)) ? path.join(path.dirname(model), file) : undefined);
  const evalData = values.eval ? path.resolve(values.eval) : beside('eval.npz');
  const calibData = values.calib ? path.resolve(values.calib) : beside('calib.npz');
  if (values.eval) requireFile(evalData!, values.eval, 'evaluation data');
  if (values.calib) requireFile(calibData!, values.calib, 'calibration data');

  const stateRoot = stateRootOf(values['state-dir']);
  await prepareLocalRunner(values.python);
  const details = await inspect(model, shown(model), stateRoot, values.python);

  const notes: string[] = [];
  const dataFor = (file: string | undefined, what: string) => {
    if (!file) return undefined;
    const keys = npzKeys(file);
    const missing = keys ? details.inputs.map((t) => t.name).filter((n) => !keys.includes(n)) : [];
    if (missing.length) notes.push(`${what} ${shown(file)} has no array for input ${missing.join(', ')}: fix the data before running`);
    return { keys };
  };
  const evalInfo = dataFor(evalData, 'evaluation data');
  dataFor(calibData, 'calibration data');
  const inputNames = new Set(details.inputs.map((t) => t.name));
  const labels = evalInfo?.keys?.find((k) => LABEL_NAMES.includes(k) && !inputNames.has(k));
  const dir = path.dirname(output);
  // Relative paths keep a pipeline movable with its project; across unrelated trees (/tmp vs /work) they only confuse.
  const top = (f: string) => f.split(path.sep)[1];
  const rel = (f: string) => (top(f) === top(dir) ? path.relative(dir, f).split(path.sep).join('/') : f);
  const schema = schemaReference(dir);
  if (!schema) notes.push('no schema line for editors: trtpipe is not installed in this project (npm install -D trtpipe adds it, under node_modules)');
  const text = starterPipeline({
    name,
    model: rel(model),
    modelShown: shown(model),
    ...(schema ? { schema } : {}),
    inputs: details.inputs,
    outputs: details.outputs,
    opCounts: details.op_counts,
    ...(details.opset !== undefined ? { opset: details.opset } : {}),
    ...(evalData ? { evaluation: { npz: rel(evalData), ...(labels ? { labels } : {}) } } : {}),
    ...(calibData ? { calibration: { npz: rel(calibData) } } : {}),
  });
  const check = loadPipelineText(text, output, { env: {} });
  if (!check.pipeline) {
    throw new Error(`the starter pipeline for ${shown(model)} does not validate:\n${renderDiagnostics(check.diagnostics)}\n--- text ---\n${text}`);
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(output, text, { flag: 'wx' });
  const inputs = details.inputs.map((t) => `${t.name} ${t.dtype} [${t.shape.join(', ')}]`).join('; ');
  process.stdout.write(
    `wrote ${shown(output)}: inputs ${inputs}; ` +
      `${evalData ? `evaluation data ${shown(evalData)}${labels ? ` (labels: ${labels})` : ''}` : 'synthetic evaluation data (replace it with real data)'}\n` +
      notes.map((n) => `note: ${n}\n`).join('') +
      `next: edit it, then \`trtpipe validate ${shown(output)}\` and \`trtpipe run ${shown(output)}\`\n`,
  );
  return ExitCode.Ok;
}

/**
 * The schema as the pipeline's folder reaches it on every clone of its project: relative, through
 * the project's node_modules (or inside a trtpipe checkout). A global or npx install lives outside
 * the project, and an absolute path into it would break for everyone else: no reference then.
 */
function schemaReference(dir: string): string | undefined {
  const parts = PACKAGE_ROOT.split(path.sep);
  const nm = parts.indexOf('node_modules');
  const home = nm > 0 ? parts.slice(0, nm).join(path.sep) || path.sep : PACKAGE_ROOT;
  if (dir !== home && !dir.startsWith(home.endsWith(path.sep) ? home : home + path.sep)) return undefined;
  // pnpm keeps the package under node_modules/.pnpm/<name>@<version>/; its node_modules/trtpipe link outlives upgrades.
  const linked = path.join(home, 'node_modules', 'trtpipe', path.relative(PACKAGE_ROOT, SCHEMA_PATH));
  const target = nm > 0 && existsSync(linked) ? linked : SCHEMA_PATH;
  const rel = path.relative(dir, target).split(path.sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

function requireFile(file: string, given: string, what: string) {
  let isFile: boolean;
  try {
    isFile = statSync(file).isFile();
  } catch {
    throw new InputError(`${what} not found: ${given}`);
  }
  if (!isFile) throw new InputError(`${what} ${given} is not a file`);
}

/** Runs the inspect stage on a local runner spawned for it (and stopped after). */
async function inspect(model: string, shown: string, stateRoot: string, python?: string): Promise<ModelDetails> {
  const dirs = stateDir(stateRoot);
  const runner = await spawnLocalRunner({ storeDir: dirs.runnerStore, logFile: path.join(dirs.logs, 'init.runner.log'), python });
  const client = new RunnerClient(runner.address, { token: runner.token });
  try {
    // The local runner takes the model (and its external data files) by path; no deadline: a big model takes its time.
    const artifact = await modelArtifact(model, path.join(dirs.root, 'tmp'));
    for (const f of [...(artifact.dependencies ?? []), artifact]) await client.importArtifact(f.path, refOf(f));
    const result = await client.runStage({ stage: 'inspect', cell: 'init', inputs: { model: refOf(artifact) }, params: {} }, () => {});
    return result.details as unknown as ModelDetails;
  } catch (err) {
    if (err instanceof RunnerCallError) {
      if (err.isUserError) throw new InputError(`model ${shown}: ${err.detail?.message ?? err.message}`);
      if (err.isUnavailable) throw new RunnerUnavailableError(`the local runner became unreachable: ${err.message}`);
      // A failure inside the runner is a failed stage, as in `trtpipe run`; its log has the details.
      throw new InputError(`the inspect stage failed on the runner: ${err.message}. See ${path.join(dirs.logs, 'init.runner.log')}`);
    }
    throw err;
  } finally {
    client.close();
    await runner.stop();
  }
}
