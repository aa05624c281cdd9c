// Quoting is the only thing between a parameter value and the shell: these tests run real shells
// (dash and bash) and compare the argv they saw with the values that went in.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { asRoot, buildCommand, quote, quoteValue, words } from '../../core/quote.ts';
import { UserError } from '../../core/errors.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasBinary, tempDir } from '../helpers/env.ts';

const cmd = (pieces: TemplateStringsArray, ...values: unknown[]) => buildCommand(pieces, values);

/** Every character the shell gives meaning to, alone and in company. */
const NASTY = [
  '',
  ' ',
  '  ',
  'plain',
  'a b',
  '\t',
  '\n',
  'line1\nline2\n',
  "'",
  "''",
  '"',
  '\\',
  '\\\\n',
  '$',
  '$HOME',
  '${HOME}',
  '$(id)',
  '`id`',
  ';',
  '; rm -rf /tmp/nothing',
  '&',
  '&&',
  '|',
  '||',
  '<',
  '>',
  '>>',
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  '*',
  '?',
  '~',
  '~root',
  '#',
  '#comment',
  '!',
  '!!',
  '=',
  'a=b',
  '-',
  '--',
  '-n',
  '-e',
  '%',
  '%s',
  '^',
  ',',
  '.',
  '..',
  '/',
  '/etc/passwd',
  '*.ts',
  'it\'s "quoted"',
  "'\\''",
  'back`tick',
  '\u00e9t\u00e9',
  '日本語',
  '😀',
  'a\u200bb',
  '\r',
  '\x01\x7f',
  ' leading',
  'trailing ',
  "'; touch /tmp/x; '",
];

/** Runs `printf '%s\0' WORDS` in a shell and returns the words it printed. */
function argvSeen(shell: string, words: readonly unknown[]): string[] {
  const command = buildCommand(['printf %s\\\\0 ', ''], [words]);
  const out = execFileSync(shell, ['-c', command.text], { encoding: 'utf8' });
  const parts = out.split('\0');
  assert.equal(parts.pop(), '', 'output ends with the last separator');
  return parts;
}

function randomWord(rand: () => number): string {
  const alphabet = [...' \t\n\'"\\$`;&|<>(){}[]*?~#!=%^,./-_aZ09é日😀'];
  const n = Math.floor(rand() * 12);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

/** A small seeded PRNG so a failure is reproducible. */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('quote', () => {
  it('leaves safe words alone and quotes everything else', () => {
    assert.equal(quote('containerd'), 'containerd');
    assert.equal(quote('/etc/containerd/config.toml'), '/etc/containerd/config.toml');
    assert.equal(quote('a=b,c:d@e%f+g-h'), 'a=b,c:d@e%f+g-h');
    assert.equal(quote(''), "''");
    assert.equal(quote('a b'), "'a b'");
    assert.equal(quote("it's"), `'it'\\''s'`);
    assert.equal(quote('$(id)'), "'$(id)'");
    assert.equal(quote('日本'), "'日本'");
  });

  it("never uses bash-only $'…' quoting (commands run under dash)", () => {
    for (const w of NASTY) assert.ok(!quote(w).startsWith("$'"), w);
  });

  it('interpolates numbers, booleans, bigints, arrays and {stdout} values', () => {
    assert.equal(cmd`sleep ${3}`.text, 'sleep 3');
    assert.equal(cmd`echo ${-1.5}`.text, 'echo -1.5');
    assert.equal(cmd`echo ${true} ${false}`.text, 'echo true false');
    assert.equal(cmd`echo ${10n}`.text, 'echo 10');
    assert.equal(cmd`apt-get install ${['a', 'b c', '']}`.text, "apt-get install a 'b c' ''");
    assert.equal(cmd`echo ${[]}`.text, 'echo');
    assert.equal(cmd`echo ${[['nested', 'x y']]}`.text, "echo nested 'x y'");
    // zx rule: a previous command's result interpolates as its stdout without trailing newlines.
    assert.equal(cmd`kubectl get ${{ stdout: 'node-1\n\n' }}`.text, 'kubectl get node-1');
    assert.equal(cmd`echo ${{ stdout: 'two words\n' }}`.text, "echo 'two words'");
  });

  it('refuses a NUL byte, which no quoting can carry to a command', () => {
    assert.throws(() => quote('a\0b'), (e: unknown) => e instanceof UserError && e.reason === 'NUL_IN_COMMAND');
    assert.throws(() => cmd`echo ${['ok', 'x\0']}`, /NUL byte/);
  });

  it('rejects null, undefined and plain objects, naming the value position', () => {
    assert.throws(() => cmd`echo ${'ok'} ${null}`, /cannot interpolate null into a command \(value #2\)/);
    assert.throws(() => cmd`echo ${undefined}`, /cannot interpolate undefined into a command \(value #1\)/);
    assert.throws(() => cmd`echo ${{ not: 'stdout' }}`, /cannot interpolate object/);
    assert.throws(() => cmd`echo ${['a', null]}`, /cannot interpolate null/);
    assert.throws(() => quoteValue({ stdout: 3 }, 0), /cannot interpolate object/);
  });

  for (const shell of ['dash', 'bash', 'sh']) {
    it(`is sound under ${shell}: the shell sees exactly the values given`, { skip: hasBinary(shell) ? undefined : `${shell} not installed` }, () => {
      assert.deepEqual(argvSeen(shell, NASTY), NASTY);
      const rand = mulberry32(20240601);
      const words = Array.from({ length: 300 }, () => randomWord(rand));
      assert.deepEqual(argvSeen(shell, words), words);
      // Numbers and {stdout} go through the same path.
      assert.deepEqual(argvSeen(shell, [42, { stdout: "a'b\n" }, true]), ['42', "a'b", 'true']);
    });
  }

  it('a value can never run a command, even with every trick in one word', () => {
    const evil = "'; touch /nonexistent-kubestrap-proof; echo '$(touch /nonexistent-2)`touch /nonexistent-3`";
    const out = execFileSync('dash', ['-c', cmd`printf %s ${evil}`.text], { encoding: 'utf8' });
    assert.equal(out, evil);
  });
});

describe('buildCommand simple/compound', () => {
  it('is simple when only values hold shell syntax', () => {
    const c = cmd`rm -rf -- ${'/tmp/a;b'} ${'$(x)'}`;
    assert.equal(c.simple, true);
    assert.equal(c.text, "rm -rf -- '/tmp/a;b' '$(x)'");
  });

  it('is compound when the literal text holds shell syntax', () => {
    for (const c of [cmd`a ; b`, cmd`a | b`, cmd`a && b`, cmd`echo x > ${'/f'}`, cmd`echo $HOME`, cmd`${'x'} 2>/dev/null`, cmd`echo "q"`, cmd`a\nb`]) {
      assert.equal(c.simple, false, c.text);
    }
  });

  it('trims the surrounding whitespace of the literal text', () => {
    assert.equal(cmd`  systemctl restart ${'kubelet'}  `.text, 'systemctl restart kubelet');
  });
});

describe('asRoot', () => {
  it('prefixes one simple command with sudo -n when not root', () => {
    assert.equal(asRoot(cmd`systemctl restart ${'containerd'}`, false), 'sudo -n systemctl restart containerd');
    assert.equal(asRoot(cmd`rm -rf ${'/a b'}`, false), "sudo -n rm -rf '/a b'");
  });

  it('wraps a compound command in sudo -n sh -c, quoted as one word', () => {
    assert.equal(asRoot(cmd`modprobe br_netfilter && sysctl --system`, false), "sudo -n sh -c 'modprobe br_netfilter && sysctl --system'");
    assert.equal(asRoot(cmd`echo ${"it's"} > /etc/x`, false), `sudo -n sh -c 'echo '\\''it'\\''\\'\\'''\\''s'\\'' > /etc/x'`);
  });

  it('runs the command as it is when already root', () => {
    assert.equal(asRoot(cmd`a && b`, true), 'a && b');
    assert.equal(asRoot(cmd`systemctl restart ${'x'}`, true), 'systemctl restart x');
  });

  const sudoSkip = hasBinary('sudo') && process.getuid?.() === 0 ? undefined : 'needs root with sudo to run sudo -n without a password';
  it('sudo -n, simple or through sh -c, still passes the exact values', { skip: sudoSkip }, (t) => {
    // A script that prints its argv: calling it by path keeps the command simple (no quotes, no backslashes).
    const script = join(tempDir(t), 'argv');
    writeFileSync(script, '#!/bin/sh\nprintf \'%s\\0\' "$@"\n', { mode: 0o755 });
    const words = NASTY.filter((w) => w !== '');
    const simple = buildCommand([`${script} `, ''], [words]);
    assert.equal(simple.simple, true);
    assert.match(asRoot(simple, false), /^sudo -n \//);
    assert.deepEqual(execFileSync('dash', ['-c', asRoot(simple, false)], { encoding: 'utf8' }).split('\0').slice(0, -1), words);
    const compound = buildCommand([`${script} `, ' | cat'], [words]);
    assert.equal(compound.simple, false);
    assert.match(asRoot(compound, false), /^sudo -n sh -c '/);
    assert.deepEqual(execFileSync('dash', ['-c', asRoot(compound, false)], { encoding: 'utf8' }).split('\0').slice(0, -1), words);
  });
});

describe('words: the argv of a command written only of quoted words', () => {
  it('gives back exactly the words a shell sees, for every nasty word', () => {
    const text = buildCommand(['sh -c ', ' sh ', ''], ['printf "%s\\0" "$@"', NASTY.filter((w) => !w.includes('\0'))]).text;
    const argv = words(text)!;
    assert.ok(argv, text);
    assert.deepEqual(argv, ['sh', '-c', 'printf "%s\\0" "$@"', 'sh', ...NASTY]);
    // The same words, as dash parses the text.
    const seen = execFileSync('dash', ['-c', `printf '%s\\0' ${text}`], { encoding: 'utf8' }).split('\0').slice(0, -1);
    assert.deepEqual(seen, argv);
  });

  it('is undefined for anything a shell would read as more than words', () => {
    for (const t of ['a | b', 'a  b', 'a; b', 'echo $HOME', 'a > f', "a 'open", ' a', 'a ', '', 'a\nb', 'echo "x"']) assert.equal(words(t), undefined, t);
  });
});
