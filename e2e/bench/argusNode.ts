/**
 * A benchmark's Argus node in a child process of its own, so that its event-loop lag and
 * memory are measured apart from the load generator. Speaks over the IPC channel:
 *   parent → child: 'measure' (reset and start measuring), 'measure-cpu' (CPU time only), 'report', 'stop'
 *   child → parent: { ready: url }, { measuring: true }, { report: { lagMeanMs, lagP99Ms, lagMaxMs, rssPeak, rssStart, cpuMs } }
 * Nothing is sampled outside 'measure' … 'report', so the node's own work is all there is.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/log.ts';
import { startArgus } from '../../server/runtime.ts';

const config = loadConfig();
const node = await startArgus(config, createLogger(config.logLevel), { serveClient: false });
const lag = monitorEventLoopDelay({ resolution: 5 });
let rssStart = 0;
let rssPeak = 0;
let cpuStart = process.cpuUsage();
let sampler: NodeJS.Timeout | undefined;

process.on('message', async (message: string) => {
  if (message === 'measure' || message === 'measure-cpu') {
    // 'measure-cpu' counts CPU time only: no lag monitor or memory sampler waking the loop.
    if (message === 'measure') {
      lag.reset();
      lag.enable();
      rssStart = rssPeak = process.memoryUsage().rss;
      clearInterval(sampler);
      sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 5);
    }
    cpuStart = process.cpuUsage();
    process.send!({ measuring: true });
  } else if (message === 'report') {
    lag.disable();
    clearInterval(sampler);
    const cpu = process.cpuUsage(cpuStart);
    process.send!({
      report: { lagMeanMs: lag.mean / 1e6, lagP99Ms: lag.percentile(99) / 1e6, lagMaxMs: lag.max / 1e6, rssStart, rssPeak, cpuMs: (cpu.user + cpu.system) / 1000 },
    });
  } else if (message === 'stop') {
    clearInterval(sampler);
    await node.close();
    process.exit(0);
  }
});
process.send!({ ready: node.url });
