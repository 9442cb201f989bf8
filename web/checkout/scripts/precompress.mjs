// After `next build`: writes .gz and .br siblings of every text asset in
// out/, so b4-gateway's static route serves them precompressed (as a CDN
// would) to clients that accept them.  Node's own zlib; no dependency.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = new URL('../out/', import.meta.url).pathname;
const compressible = /\.(js|css|html|json|txt|svg|map)$/;
let files = 0;

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (compressible.test(name)) {
      const data = readFileSync(path);
      writeFileSync(`${path}.gz`, gzipSync(data, { level: 9 }));
      writeFileSync(`${path}.br`, brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
      files += 1;
    }
  }
}
walk(root);
console.log(`precompress: ${files} files in out/ with .gz and .br siblings`);
