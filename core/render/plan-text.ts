// The plan for people: what needs root, what is overwritten or erased, what opens ports.
import { describeEffect, formatBytes, isShown, needsRoot } from '../effect-kinds.ts';
import { type DeclaredPath, type Effect, probeText } from '../effects.ts';
import type { PlanDocument } from '../plan.ts';
import { terminalText as t } from './escape.ts';
import type { Style } from './style.ts';

const LOOPBACK = /^(127\.|::1$|localhost$)/;

/** `#` a change as root, `$` a command or change as the user, `*` a declaration (a port the cluster opens). */
function marker(e: Effect, style: Style): string {
  if (needsRoot(e)) return style.red('#');
  return e.kind === 'listen' ? '*' : '$';
}

/** One declared path of an opaque command, under the command in the step listing. */
export function declaredLine(d: DeclaredPath): string {
  if (d.action === 'erase') return `erases ${d.path} ${d.exists ? `(${formatBytes(d.bytes)})` : '(absent)'}`;
  return `writes ${d.path} ${d.exists ? `(exists: backup ${d.backup})` : '(new)'}`;
}

export function renderPlanText(plan: PlanDocument, style: Style): string {
  const out: string[] = [];
  const all = plan.steps.flatMap((s) => s.effects.map((e) => ({ step: s.id, e })));
  const of = <K extends Effect['kind']>(kind: K) => all.filter((x) => x.e.kind === kind) as { step: string; e: Extract<Effect, { kind: K }> }[];
  const hostNote = (e: Effect) => (e.host === 'local' ? '' : style.dim(` [${t(e.host)}]`));
  const note = (n: { message: string; fix?: string }) => `${t(n.message)}${n.fix ? ` — ${t(n.fix)}` : ''}`;

  out.push(style.bold(`Plan for recipe '${t(plan.recipe)}' (profile ${t(plan.profile)})`));
  const users = plan.hosts.map((h) =>
    `${t(h.name)} as ${t(h.user)}${h.uid === 0 ? ' (root)' : ''}${h.createdBy ? ` (created by step ${t(h.createdBy.join(', '))})` : ''}`
  ).join(', ');
  const created = new Map(plan.hosts.filter((h) => h.createdBy).map((h) => [h.name, h.createdBy!]));
  if (users) out.push(style.dim(`hosts: ${users}`));
  out.push('');

  for (const step of plan.steps) {
    const blocked = (step.notes ?? []).some((n) => n.blocks);
    const mark = blocked
      ? style.red('✗ blocked')
      : step.status === 'ok'
      ? style.green('✓ ok    ')
      : step.status === 'change'
      ? style.yellow('~ change')
      : style.red(`✗ ${t(step.status)}`);
    const creator = created.get(step.host);
    const where = step.host === 'local' ? '' : ` on ${t(step.host)}${creator ? `, created by step ${t(creator.join(', '))}` : ''}`;
    out.push(`${mark} ${t(step.id)} ${style.dim(`(${t(step.task)}${where})`)}`);
    for (const e of step.effects) {
      if (!isShown(e)) continue;
      out.push(`    ${marker(e, style)} ${t(describeEffect(e))}`);
      // What an overwrite changes, so the reviewer sees it without asking for JSON.
      if (e.kind === 'write' && e.diff && !e.unchanged) { for (const l of e.diff.replace(/\n$/, '').split('\n')) out.push(`        ${style.dim(t(l))}`); }
      for (const d of (e.kind === 'exec' && e.declares) || []) out.push(`        ${style.dim(t(declaredLine(d)))}`);
    }
    for (const n of step.notes ?? []) out.push(`    ${n.level === 'info' ? 'i' : '!'} ${note(n)}`);
    if (step.error) out.push(`    ${style.red(t(step.error))}`);
  }

  const section = (title: string, lines: string[]) => {
    if (!lines.length) return;
    out.push('', style.bold(title));
    for (const l of lines) out.push(`  ${l}`);
  };
  // Every command the plan ran (and each it did not run), so nothing runs unlisted.
  const readLines = new Map<string, string[]>();
  for (const { step, e } of all) {
    if (e.kind !== 'probe' && e.kind !== 'read') continue;
    const line = e.kind === 'read' ? `read ${t(e.path)}${hostNote(e)}` : `${e.notRun ? style.yellow('not run: ') : '$ '}${t(probeText(e))}${hostNote(e)}`;
    const steps = readLines.get(line) ?? [];
    if (!steps.includes(step)) steps.push(step);
    readLines.set(line, steps);
  }
  section(
    `Read while planning (${readLines.size}; nothing changed)`,
    [...readLines].map(([line, steps]) => `${line} ${style.dim(`(${steps.map(t).join(', ')})`)}`),
  );
  const root = all.filter((x) => needsRoot(x.e));
  section(`Needs root (${root.length})`, root.map(({ e }) => t(describeEffect(e))));
  const overwritten = of('write').filter((x) => x.e.exists && !x.e.unchanged);
  // Paths an opaque command declared, named with the step that runs it.
  const declared = of('exec').flatMap(({ step, e }) => (e.declares ?? []).map((d) => ({ step, e, d })));
  const by = (step: string) => style.dim(` (by ${t(step)})`);
  section('Files overwritten (backed up first)', [
    ...overwritten.map(({ e }) => `${t(e.path)}${hostNote(e)} → backup ${t(e.backup)}`),
    ...declared.filter((x) => x.d.action === 'write' && x.d.exists).map(({ step, e, d }) => `${t(d.path)}${hostNote(e)} → backup ${t(d.backup)}${by(step)}`),
  ]);
  section('Files created', [
    ...of('write').filter((x) => !x.e.exists).map(({ e }) => `${t(e.path)}${hostNote(e)} (mode ${t(e.mode)})`),
    ...declared.filter((x) => x.d.action === 'write' && !x.d.exists).map(({ step, e, d }) => `${t(d.path)}${hostNote(e)}${by(step)}`),
  ]);
  section('Paths erased', [
    ...of('remove').filter((x) => x.e.exists).map(({ e }) => `${t(e.path)}${hostNote(e)} (${formatBytes(e.bytes)})`),
    ...declared.filter((x) => x.d.action === 'erase' && x.d.exists).map(({ step, e, d }) => `${t(d.path)}${hostNote(e)} (${formatBytes(d.bytes)})${by(step)}`),
  ]);
  section(
    'Ports opened',
    of('listen').map(({ e }) => {
      const exposed = !LOOPBACK.test(e.address);
      return `${t(e.address)}:${e.port}/${t(e.protocol)} ${t(e.component)}${hostNote(e)}${
        exposed ? style.yellow(' — reachable from other machines unless a firewall blocks it') : ''
      }`;
    }),
  );
  section('Packages', of('package').flatMap(({ e }) => packageLines(e).map((l) => `${t(l)}${hostNote(e)}`)));
  section('Services', of('service').map(({ e }) => `${t(e.action)} ${t(e.name)}${hostNote(e)}`));
  section('Downloads', of('download').map(({ e }) => `${t(e.url)}${e.cached ? ' (cached)' : ''}${e.sha256 ? '' : style.yellow(' — no checksum')}`));
  const warnings = plan.steps.flatMap((s) => (s.notes ?? []).filter((n) => n.level !== 'info' && !n.blocks).map((n) => `${t(s.id)}: ${note(n)}`));
  section('Warnings', warnings);
  const blockers = plan.steps.flatMap((s) => (s.notes ?? []).filter((n) => n.blocks).map((n) => `${t(s.id)}: ${note(n)} [${t(n.blocks)}]`));
  section(style.red('Blocked: this machine cannot run this plan; a run will refuse to start until these are fixed'), blockers);

  const s = plan.summary;
  out.push(
    '',
    `${s.stepsChanging} steps to change, ${s.stepsOk} already done; ${s.commands} commands (${s.sudoCommands} as root), ${s.filesWritten} files created, ${s.filesOverwritten} overwritten, ${s.filesRemoved} erased, ${s.ports} ports, ${s.packages} packages${
      s.packagesRemoved ? ` (${s.packagesRemoved} removed or downgraded)` : ''
    }, ${s.services} service actions.`,
  );
  out.push(style.dim(`digest ${t(plan.digest)}`));
  return out.join('\n') + '\n';
}

/** One line per package a transaction touches; removals and downgrades are marked. */
function packageLines(e: Extract<Effect, { kind: 'package' }>): string[] {
  const tx = e.transaction;
  if (!tx) return [`${e.action} ${e.names.join(' ')} (${e.manager}; simulated by the run before it changes anything)`];
  const v = (c: { version: string }) => (c.version ? ` ${c.version}` : '');
  return [
    ...tx.remove.map((c) => `REMOVE ${c.name}${v(c)}${e.allowRemovals ? ' (allowed)' : ''}`),
    ...tx.downgrade.map((c) => `DOWNGRADE ${c.name} ${c.from ?? '?'} → ${c.version}${e.allowRemovals ? ' (allowed)' : ''}`),
    ...tx.install.map((c) => `install ${c.name}${v(c)}`),
    ...tx.upgrade.map((c) => `upgrade ${c.name} ${c.from ?? '?'} → ${c.version}`),
  ];
}
