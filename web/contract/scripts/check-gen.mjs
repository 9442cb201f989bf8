// Fails when schema.d.ts is not what `npm run gen` makes from
// docs/openapi.yaml today: generates into a temporary file with the same
// command and compares byte for byte.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), 'b4-contract-'));
const out = join(dir, 'schema.d.ts');
try {
  execFileSync(join(here, 'node_modules/.bin/openapi-typescript'),
               [join(here, '../../docs/openapi.yaml'), '--output', out],
               { stdio: ['ignore', 'ignore', 'inherit'] });
  const fresh = readFileSync(out, 'utf8');
  const committed = readFileSync(join(here, 'schema.d.ts'), 'utf8');
  if (fresh !== committed) {
    console.error('web/contract/schema.d.ts is stale: run `npm run gen` in web/contract and commit it');
    process.exit(1);
  }
  console.log('web/contract/schema.d.ts matches docs/openapi.yaml');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
