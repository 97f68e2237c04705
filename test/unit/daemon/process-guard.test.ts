import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { guardProcess, safeErrorFields, type ProcessErrorKind } from '../../../src/daemon/process-guard.ts';

test('an error that reaches the process is logged without its message and counted', () => {
  const lines: string[] = [];
  const log = pino({}, new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done(); } }));
  const proc = new EventEmitter();
  const guard = guardProcess(log, proc);
  proc.emit('unhandledRejection', new SyntaxError('Unexpected token in JSON at position 3: "password":"hunter2"'));
  const counted: ProcessErrorKind[] = [];
  guard.countInto((kind) => { counted.push(kind); });
  assert.deepEqual(counted, ['unhandledRejection'], 'what happened before counting started is counted');
  proc.emit('uncaughtException', new TypeError('Cannot read properties of null (secret-ish)'));
  assert.deepEqual(counted, ['unhandledRejection', 'uncaughtException']);
  const text = lines.join('');
  assert.match(text, /"error":"SyntaxError"/);
  assert.match(text, /"error":"TypeError"/);
  assert.ok(!text.includes('hunter2') && !text.includes('secret-ish'), text);
  guard.close();
  assert.equal(proc.listenerCount('unhandledRejection') + proc.listenerCount('uncaughtException'), 0);
});

test('safe fields keep the class, code and stack frames, never the message', () => {
  const err = Object.assign(new Error('token abc'), { code: 'ECONNRESET' });
  const fields = safeErrorFields(err);
  assert.equal(fields.error, 'Error');
  assert.equal(fields.code, 'ECONNRESET');
  assert.match(fields.stack ?? '', /^at /);
  assert.ok(!JSON.stringify(fields).includes('token abc'));
  assert.deepEqual(safeErrorFields('a string'), { error: 'string' });
});
