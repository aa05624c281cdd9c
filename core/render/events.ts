// Renderers for engine events: a live tree on a terminal, plain lines otherwise, JSON lines with --json.
import type { EngineEvent } from '../events.ts';
import { describeEffect, isShown } from '../effect-kinds.ts';
import { terminalText as t } from './escape.ts';
import type { Style } from './style.ts';

export interface Sink {
  write(s: string): void;
}

export function jsonRenderer(out: Sink): (e: EngineEvent) => void {
  return (e) => out.write(JSON.stringify(e) + '\n');
}

/** One line per event; output lines only with verbose. */
export function plainRenderer(out: Sink, style: Style, verbose: boolean): (e: EngineEvent) => void {
  return (e) => {
    switch (e.type) {
      case 'step-start':
        out.write(`${style.dim('▸')} ${t(e.step)} ${style.dim(`(${t(e.task)}${e.host === 'local' ? '' : ` on ${t(e.host)}`})`)}\n`);
        break;
      case 'effect':
        if (isShown(e.effect)) out.write(`  ${style.dim(t(e.step) + ':')} ${t(describeEffect(e.effect))}\n`);
        break;
      case 'note':
        out.write(
          `  ${style.dim(t(e.step) + ':')} ${e.note.level === 'info' ? 'i' : style.yellow('!')} ${t(e.note.message)}${
            e.note.fix ? ` — ${t(e.note.fix)}` : ''
          }\n`,
        );
        break;
      case 'output':
        if (verbose) out.write(`  ${style.dim(t(e.step) + ' |')} ${t(e.line)}\n`);
        break;
      case 'step-finish':
        out.write(
          `${e.status === 'ok' ? style.green('✓') : style.green('✔')} ${t(e.step)} ${
            style.dim(`${e.status === 'ok' ? 'already done' : 'changed'}, ${e.ms} ms`)
          }\n`,
        );
        break;
      case 'step-failed':
        out.write(`${style.red('✗')} ${t(e.step)}: ${t(e.error)}\n`);
        break;
      case 'step-skipped':
        out.write(`${style.dim('-')} ${t(e.step)} ${style.dim(`skipped: ${t(e.reason)}`)}\n`);
        break;
      case 'run-finish': {
        const c = e.counts;
        out.write(
          `${
            e.status === 'ok' ? style.green('done') : style.red(e.status)
          }: ${c.change} changed, ${c.ok} already done, ${c.failed} failed, ${c.skipped} skipped (${(e.ms / 1000).toFixed(1)} s)\n`,
        );
        break;
      }
    }
  };
}

interface Row {
  id: string;
  label: string;
  state: 'waiting' | 'running' | 'change' | 'ok' | 'failed' | 'skipped';
  detail: string;
}

/** A live task tree, redrawn in place. */
export function ttyRenderer(out: Sink, style: Style, columns: () => number): { listener: (e: EngineEvent) => void; stop(): void } {
  const rows: Row[] = [];
  const byId = new Map<string, Row>();
  const extra: string[] = [];
  let drawn = 0;
  let frame = 0;
  const spinner = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
  const draw = () => {
    const width = Math.max(20, columns());
    const lines = rows.map((r) => {
      const mark = r.state === 'running'
        ? style.yellow(spinner[frame % spinner.length]!)
        : r.state === 'change'
        ? style.green('✔')
        : r.state === 'ok'
        ? style.green('✓')
        : r.state === 'failed'
        ? style.red('✗')
        : r.state === 'skipped'
        ? style.dim('-')
        : style.dim('·');
      const text = `${mark} ${r.label}${r.detail ? style.dim(' ' + r.detail) : ''}`;
      return truncate(text, width);
    });
    let s = drawn ? `\x1b[${drawn}A` : '';
    for (const l of extra.splice(0)) s += `\x1b[2K${l}\n`;
    for (const l of lines) s += `\x1b[2K${l}\n`;
    out.write(s);
    drawn = lines.length;
  };
  const timer = setInterval(() => {
    frame++;
    if (rows.some((r) => r.state === 'running')) draw();
  }, 100);
  timer.unref?.();
  const listener = (e: EngineEvent) => {
    switch (e.type) {
      case 'run-start':
        for (const s of e.steps) {
          const r: Row = { id: s.id, label: t(s.id), state: 'waiting', detail: '' };
          rows.push(r);
          byId.set(s.id, r);
        }
        break;
      case 'step-start': {
        const r = byId.get(e.step);
        if (r) {
          r.state = 'running';
          r.detail = t(e.task);
        }
        break;
      }
      case 'effect': {
        const r = byId.get(e.step);
        if (r && isShown(e.effect)) r.detail = t(describeEffect(e.effect));
        break;
      }
      case 'output': {
        const r = byId.get(e.step);
        if (r && e.line.trim()) r.detail = t(e.line.trim());
        break;
      }
      case 'note':
        extra.push(`${e.note.level === 'info' ? 'i' : style.yellow('!')} ${t(e.step)}: ${t(e.note.message)}${e.note.fix ? ` — ${t(e.note.fix)}` : ''}`);
        break;
      case 'step-finish': {
        const r = byId.get(e.step);
        if (r) {
          r.state = e.status;
          r.detail = `${e.status === 'ok' ? 'already done' : 'changed'} ${e.ms} ms`;
        }
        break;
      }
      case 'step-failed': {
        const r = byId.get(e.step);
        if (r) {
          r.state = 'failed';
          r.detail = t(e.error);
        }
        break;
      }
      case 'step-skipped': {
        const r = byId.get(e.step);
        if (r) {
          r.state = 'skipped';
          r.detail = t(e.reason);
        }
        break;
      }
      case 'run-finish': {
        const c = e.counts;
        draw();
        out.write(
          `${
            e.status === 'ok' ? style.green('done') : style.red(e.status)
          }: ${c.change} changed, ${c.ok} already done, ${c.failed} failed, ${c.skipped} skipped (${(e.ms / 1000).toFixed(1)} s)\n`,
        );
        drawn = 0;
        return;
      }
    }
    draw();
  };
  return { listener, stop: () => clearInterval(timer) };
}

function truncate(s: string, width: number): string {
  // Measure without escape codes; cut the visible text only.
  const visible = s.replace(/\x1b\[[0-9;]*m/g, '');
  if (visible.length <= width) return s;
  let count = 0, out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\x1b') {
      const m = /^\x1b\[[0-9;]*m/.exec(s.slice(i));
      if (m) {
        out += m[0];
        i += m[0].length - 1;
        continue;
      }
    }
    if (count >= width - 1) {
      out += '…';
      break;
    }
    out += s[i];
    count++;
  }
  return out + '\x1b[0m';
}
