// How much Orthanc's own store rate depends on having both cores: posts 1,000 fresh instances
// straight to Orthanc (through the benchmark's direct nginx), 4 at a time, alternately alone and
// beside a process spinning on one core, and prints the rate and Orthanc's CPU seconds per run.
// Usage, with a stack held by `BENCH_HOLD_SECONDS=600 BENCH_ONLY=none npm run bench` (it prints the direct URL):
//   node --import tsx bench/neighbour-probe.mts <direct nginx URL> <Orthanc pid>
import { spawn } from 'node:child_process';
import { Pool } from 'undici';
import { buildBaseSet, freshTag, patchInstance } from './lib/data.js';
import { treeCpuSeconds } from './lib/proc.js';
const [directUrl, orthancPid] = [process.argv[2]!, Number(process.argv[3])];
const base = buildBaseSet(1000, 300);
async function run(burn: boolean) {
  const tags = { study: freshTag(), instances: freshTag(), patient: freshTag() };
  const files = base.map((b) => patchInstance(b, tags));
  const burner = burn ? spawn(process.execPath, ['-e', 'for(;;){}']) : null;
  await new Promise((r) => setTimeout(r, 300));
  const pool = new Pool(directUrl, { connections: 4 });
  const c0 = treeCpuSeconds(orthancPid)!;
  const t0 = performance.now();
  let next = 0;
  let study = '';
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < files.length) {
      const f = files[next++]!;
      const r = await pool.request({ method: 'POST', path: '/instances', body: f, headers: { 'content-type': 'application/dicom', 'content-length': String(f.length) } });
      study = ((await r.body.json()) as { ParentStudy: string }).ParentStudy;
    }
  }));
  const s = (performance.now() - t0) / 1000;
  const cpu = treeCpuSeconds(orthancPid)! - c0;
  burner?.kill();
  await pool.request({ method: 'DELETE', path: `/studies/${study}` }).then((r) => r.body.dump());
  await pool.close();
  console.log(`burn=${burn} ${s.toFixed(2)} s, ${(1000 / s).toFixed(0)} inst/s, Orthanc CPU ${cpu.toFixed(2)} s`);
  await new Promise((r) => setTimeout(r, 3000));
}
for (let i = 0; i < 2; i++) { await run(false); await run(true); }
process.exit(0);
