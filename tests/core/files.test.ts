import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileAccessError, fileError, pendingTempFiles, removePendingTempFilesSync, tempPathFor, writeFileAtomic } from '../../electron/core/files.ts';
import { AudioFileWriter, assertWritable } from '../../electron/core/audio/write.ts';

test('fileError names the user path, never the errno text, and says whether the path is to blame', () => {
  const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/x/.y.partial'"), { code: 'ENOENT' });
  const e = fileError('/no/such/folder/out.wav', enoent) as FileAccessError;
  assert.ok(e instanceof FileAccessError);
  assert.equal(e.message, '/no/such/folder/out.wav: cannot write it: the folder /no/such/folder does not exist');
  assert.equal(e.badPath, true);
  const full = fileError('out.wav', Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' })) as FileAccessError;
  assert.match(full.message, /^out\.wav: cannot write it: the disk is full$/);
  assert.equal(full.badPath, false);
  const plain = new TypeError('not a file system error');
  assert.equal(fileError('x', plain), plain);
});

test('writeFileAtomic into a folder that takes no files fails with one line naming the target', async (t) => {
  if (!existsSync('/proc/self')) return t.skip('no /proc');
  await assert.rejects(
    writeFileAtomic('/proc/spear-test.json', '{}'),
    (e: Error) => e instanceof FileAccessError && /^\/proc\/spear-test\.json: cannot write it: /.test(e.message),
  );
  assert.equal(pendingTempFiles.size, 0);
  await assert.rejects(
    assertWritable('/proc/spear-test.wav'),
    (e: Error) => e instanceof FileAccessError && e.message.startsWith('/proc/spear-test.wav: cannot create it: '),
  );
});

test('an open writer is listed as pending until it finishes, and a synchronous clean-up removes it', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-files-'));
  const writer = await AudioFileWriter.create(path.join(dir, 'a.wav'), 16000);
  await writer.write(new Float32Array(1600));
  assert.equal(pendingTempFiles.size, 1);
  assert.equal((await readdir(dir)).length, 1);
  removePendingTempFilesSync();
  assert.deepEqual(await readdir(dir), []);
  assert.equal(pendingTempFiles.size, 0);
  await writer.abort();
  // A stray temporary file of the same pattern that is not ours is left alone.
  const other = tempPathFor(path.join(dir, 'b.wav'));
  await writeFile(other, 'x');
  removePendingTempFilesSync();
  assert.deepEqual(await readdir(dir), [path.basename(other)]);
});
