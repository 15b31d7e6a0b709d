/** Runs the offline verifier's command line in a test, as `npm run audit:verify -- …args` would. */
import { vi } from 'vitest';
import { main as auditVerify } from '../verifyExportCli.ts';

/** Its exit code and everything it printed, with `env` set while it runs. */
export async function runAuditVerify(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const printed: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((text: string) => void printed.push(text));
  const error = vi.spyOn(console, 'error').mockImplementation((text: string) => void printed.push(text));
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  try {
    return { code: await auditVerify(args), out: printed.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    vi.unstubAllEnvs();
  }
}
