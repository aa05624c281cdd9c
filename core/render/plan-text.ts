// The plan for people: what needs root, what is overwritten or erased, what opens ports.
import { describeEffect, formatBytes, isShown, needsRoot } from '../effect-kinds.ts';
import type { Effect } from '../effects.ts';
import type { PlanDocument } from '../plan.ts';
import type { Style } from './style.ts';

const LOOPBACK = /^(127\.|::1$|localhost$)/;

/** `#` a change as root, `$` a command or change as the user, `*` a declaration (a port the cluster opens). */
function marker(e: Effect, style: Style): string {
  if (needsRoot(e)) return style.red('#');
  return e.kind === 'listen' ? '*' : '$';
}

export function renderPlanText(plan: PlanDocument, style: Style): string {
  const out: string[] = [];
  const all = plan.steps.flatMap((s) => s.effects.map((e) => ({ step: s.id, e })));
  const of = <K extends Effect['kind']>(kind: K) => all.filter((x) => x.e.kind === kind) as { step: string; e: Extract<Effect, { kind: K }> }[];
  const hostNote = (e: Effect) => (e.host === 'local' ? '' : style.dim(` [${e.host}]`));

  out.push(style.bold(`Plan for recipe '${plan.recipe}' (profile ${plan.profile})`));
  const users = plan.hosts.map((h) => `${h.name} as ${h.user}${h.uid === 0 ? ' (root)' : ''}${h.createdBy ? ` (created by step ${h.createdBy.join(', ')})` : ''}`).join(', ');
  const created = new Map(plan.hosts.filter((h) => h.createdBy).map((h) => [h.name, h.createdBy!]));
  if (users) out.push(style.dim(`hosts: ${users}`));
  out.push('');

  for (const step of plan.steps) {
    const blocked = (step.notes ?? []).some((n) => n.blocks);
    const mark = blocked ? style.red('✗ blocked') : step.status === 'ok' ? style.green('✓ ok    ') : step.status === 'change' ? style.yellow('~ change') : style.red(`✗ ${step.status}`);
    const creator = created.get(step.host);
    const where = step.host === 'local' ? '' : ` on ${step.host}${creator ? `, created by step ${creator.join(', ')}` : ''}`;
    out.push(`${mark} ${step.id} ${style.dim(`(${step.task}${where})`)}`);
    for (const e of step.effects) {
      if (!isShown(e)) continue;
      out.push(`    ${marker(e, style)} ${describeEffect(e)}`);
      // What an overwrite changes, so the reviewer sees it without asking for JSON.
      if (e.kind === 'write' && e.diff && !e.unchanged) for (const l of e.diff.replace(/\n$/, '').split('\n')) out.push(`        ${style.dim(l)}`);
    }
    for (const n of step.notes ?? []) out.push(`    ${n.level === 'info' ? 'i' : '!'} ${n.message}${n.fix ? ` — ${n.fix}` : ''}`);
    if (step.error) out.push(`    ${style.red(step.error)}`);
  }

  const section = (title: string, lines: string[]) => {
    if (!lines.length) return;
    out.push('', style.bold(title));
    for (const l of lines) out.push(`  ${l}`);
  };
  const root = all.filter((x) => needsRoot(x.e));
  section(`Needs root (${root.length})`, root.map(({ e }) => describeEffect(e)));
  const overwritten = of('write').filter((x) => x.e.exists && !x.e.unchanged);
  section('Files overwritten (backed up first)', overwritten.map(({ e }) => `${e.path}${hostNote(e)} → backup ${e.backup}`));
  section('Files created', of('write').filter((x) => !x.e.exists).map(({ e }) => `${e.path}${hostNote(e)} (mode ${e.mode})`));
  section('Paths erased', of('remove').filter((x) => x.e.exists).map(({ e }) => `${e.path}${hostNote(e)} (${formatBytes(e.bytes)})`));
  section('Ports opened', of('listen').map(({ e }) => {
    const exposed = !LOOPBACK.test(e.address);
    return `${e.address}:${e.port}/${e.protocol} ${e.component}${hostNote(e)}${exposed ? style.yellow(' — reachable from other machines unless a firewall blocks it') : ''}`;
  }));
  section('Packages', of('package').map(({ e }) => `${e.action} ${e.name}${hostNote(e)}`));
  section('Services', of('service').map(({ e }) => `${e.action} ${e.name}${hostNote(e)}`));
  section('Downloads', of('download').map(({ e }) => `${e.url}${e.cached ? ' (cached)' : ''}${e.sha256 ? '' : style.yellow(' — no checksum')}`));
  const warnings = plan.steps.flatMap((s) => (s.notes ?? []).filter((n) => n.level !== 'info' && !n.blocks).map((n) => `${s.id}: ${n.message}${n.fix ? ` — ${n.fix}` : ''}`));
  section('Warnings', warnings);
  const blockers = plan.steps.flatMap((s) => (s.notes ?? []).filter((n) => n.blocks).map((n) => `${s.id}: ${n.message}${n.fix ? ` — ${n.fix}` : ''} [${n.blocks}]`));
  section(style.red('Blocked: this machine cannot run this plan; a run will refuse to start until these are fixed'), blockers);

  const s = plan.summary;
  out.push('', `${s.stepsChanging} steps to change, ${s.stepsOk} already done; ${s.commands} commands (${s.sudoCommands} as root), ${s.filesWritten} files created, ${s.filesOverwritten} overwritten, ${s.filesRemoved} erased, ${s.ports} ports, ${s.packages} packages, ${s.services} service actions.`);
  out.push(style.dim(`digest ${plan.digest}`));
  return out.join('\n') + '\n';
}
