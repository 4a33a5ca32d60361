// How much Orthanc's own store rate depends on having both cores: posts 1,000 fresh instances
// straight to Orthanc (through the benchmark's direct nginx), 4 at a time, alternately alone and
// beside a process spinning on one core, and prints the rate and Orthanc's CPU seconds per run.
// Usage, with a stack held by `BENCH_HOLD_SECONDS=600 BENCH_ONLY=none npm run bench` (it prints the direct URL):
//   node --import tsx bench/neighbour-probe.mts <direct nginx URL> <Orthanc pid>
import { spawn, type ChildProcess } from 'node:child_process';
import { Pool } from 'undici';
import { buildBaseSet, freshTag, patchInstance } from './lib/data.js';
import { treeCpuSeconds } from './lib/proc.js';
const [directUrl, orthancPid] = [process.argv[2] ?? '', Number(process.argv[3])];
if (!/^http:\/\//.test(directUrl) || !Number.isInteger(orthancPid) || treeCpuSeconds(orthancPid) === null) {
  console.error('usage: node --import tsx bench/neighbour-probe.mts <direct nginx URL> <Orthanc pid>');
  process.exit(2);
}
const base = buildBaseSet(1000, 300);
let burner: ChildProcess | null = null;
process.on('exit', () => burner?.kill()); // never leave the spinning process behind

async function run(burn: boolean) {
  const tags = { study: freshTag(), instances: freshTag(), patient: freshTag() };
  const files = base.map((b) => patchInstance(b, tags));
  const pool = new Pool(directUrl, { connections: 4 });
  let study = '';
  try {
    if (burn) burner = spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    const c0 = treeCpuSeconds(orthancPid)!;
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < files.length) {
          const file = files[next++]!;
          const response = await pool.request({ method: 'POST', path: '/instances', body: file, headers: { 'content-type': 'application/dicom', 'content-length': String(file.length) } });
          const text = await response.body.text();
          if (response.statusCode !== 200) throw new Error(`Orthanc answered ${response.statusCode}: ${text.slice(0, 200)}`);
          study = (JSON.parse(text) as { ParentStudy: string }).ParentStudy;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu = treeCpuSeconds(orthancPid)! - c0;
    console.log(`${burn ? 'beside a spinning core' : 'alone'}: ${seconds.toFixed(2)} s, ${(files.length / seconds).toFixed(0)} inst/s, Orthanc CPU ${cpu.toFixed(2)} s`);
  } finally {
    burner?.kill();
    burner = null;
    if (study) await pool.request({ method: 'DELETE', path: `/studies/${study}` }).then((r) => r.body.dump());
    await pool.close();
  }
  await new Promise((r) => setTimeout(r, 3000));
}

for (let i = 0; i < 2; i++) {
  await run(false);
  await run(true);
}
