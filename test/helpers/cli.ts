/** Runs the real CLI as a child process. */
import { spawn } from 'node:child_process';
import { CLI } from './paths.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `cli`: another trtpipe's bin/trtpipe.js (benchmarks compare checkouts); this one by default. */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; onStdout?: (text: string) => void; onStderr?: (text: string) => void; cli?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [opts.cli ?? CLI, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, CI: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => {
      stdout += t;
      opts.onStdout?.(t);
    });
    child.stderr.setEncoding('utf8').on('data', (t: string) => {
      stderr += t;
      opts.onStderr?.(t);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
