// The plan as one bash script a reviewer can read top to bottom: the same commands a run performs.
import { WRITE_FILE_SCRIPT } from '../effect-commands.ts';
import { commandsFor, shLinesFor } from '../effect-kinds.ts';
import type { Effect } from '../effects.ts';
import type { HostInfo } from '../hosts/host.ts';
import type { PlanDocument } from '../plan.ts';
import { asRoot, quote } from '../quote.ts';
import { shellComment as c, terminalText } from './escape.ts';
import { declaredLine } from './plan-text.ts';

export function renderPlanSh(plan: PlanDocument): string {
  const hosts = new Map(plan.hosts.map((h) => [h.name, h]));
  const out: string[] = [
    '#!/usr/bin/env bash',
    '# Values are single-quoted on purpose (nothing in them may expand); files put from the download',
    '# cache are read as you, then written as root.',
    '# shellcheck disable=SC1003,SC2016,SC2024,SC2034',
    `# kubestrap plan: recipe ${c(plan.recipe)}, profile ${c(plan.profile)}`,
    `# ${c(plan.digest)}`,
    '# The commands a run performs, in order. `kubestrap apply` also checks nothing drifted first.',
    'set -euo pipefail',
    '',
    '# Writes stdin to $1 atomically (mode $2, owner $3) once its size ($5) and sha256 ($6) check out; backs up what it replaces to $4.',
    `WRITE_FILE=${quote(WRITE_FILE_SCRIPT)}`,
    '# Quotes one word for a remote POSIX shell (remote writes send WRITE_FILE this way).',
    'shq() { printf "\'%s\'" "$(printf \'%s\' "$1" | sed "s/\'/\'\\\\\\\\\'\'/g")"; }',
    "# Stops where the script cannot do what a run does (a secret, or an earlier command's output).",
    'withheld() { echo "kubestrap: $1; use kubestrap apply" >&2; exit 1; }',
  ];
  for (const step of plan.steps) {
    out.push(
      '',
      `# ── ${c(step.id)} (${c(step.task)}${step.host === 'local' ? '' : ` on ${c(step.host)}`}): ${
        step.status === 'ok' ? 'already done, nothing to do' : c(step.status)
      }`,
    );
    for (const n of step.notes ?? []) out.push(`# ${c(n.level)}: ${c(n.message)}${n.fix ? ` — ${c(n.fix)}` : ''}`);
    const creator = hosts.get(step.host)?.createdBy;
    // A machine the plan creates cannot be reached by this script before it exists: never run its steps here.
    if (creator && step.status === 'change') {
      out.push(`withheld ${quote(`${terminalText(step.host)} is created by step ${terminalText(creator.join(', '))}: its steps run through kubestrap apply`)}`);
      continue;
    }
    // A host whose address only an earlier step's output gives is not among the plan's hosts: the
    // same, never localised.
    if (step.host !== 'local' && !hosts.has(step.host)) {
      out.push(`withheld ${quote(`step ${terminalText(step.id)} runs on ${terminalText(step.host)}, a machine an earlier step creates`)}`);
      continue;
    }
    for (const e of step.effects) out.push(...effectLines(e, hosts.get(e.host)));
  }
  return out.join('\n') + '\n';
}

function effectLines(e: Effect, host: HostInfo | undefined): string[] {
  const special = shLinesFor(e);
  if (special && 'lines' in special) return special.lines;
  if (special) {
    return [
      ...(special.comment !== undefined ? [`# ${c(special.comment)}`] : []),
      ...('withheld' in special ? [`withheld ${quote(terminalText(special.withheld))}`] : []),
    ];
  }
  // What an opaque command declared, as comments before its backups and the command itself.
  const lines: string[] = e.kind === 'exec' ? (e.declares ?? []).map((d) => `# declared: ${c(declaredLine(d))}`) : [];
  const commands = commandsFor(e);
  for (const c of commands) {
    let text = c.sudo ? asRoot(c.command, (host?.uid ?? 1) === 0) : c.command.text;
    const remote = host && host.shellPrefix.length > 0;
    const script = quote(WRITE_FILE_SCRIPT);
    if (!remote) text = text.replace(script, '"$WRITE_FILE"');
    else if (text.includes(script)) {
      // The remote command as one double-quoted local word, with the write script spliced in by shq.
      const [before, after] = [text.slice(0, text.indexOf(script)), text.slice(text.indexOf(script) + script.length)];
      text = `${host.shellPrefix.map(quote).join(' ')} "${dq(before)}$(shq "$WRITE_FILE")${dq(after)}"`;
    } else text = `${host.shellPrefix.map(quote).join(' ')} ${quote(text)}`;
    if (e.kind === 'write' && e.source) lines.push(`${text} < ${quote(e.source)}`);
    else if (e.kind === 'exec' && e.stdinVar && c === commands.at(-1)) lines.push(`printf '%s\\n' "\${${e.stdinVar}:?set ${e.stdinVar} first}" | ${text}`);
    else if (e.kind === 'write') lines.push(...withStdin(text, e.content!));
    else lines.push(text);
  }
  return lines;
}

function withStdin(command: string, content: string): string[] {
  let tag = 'KUBESTRAP_EOF';
  while (content.includes(tag)) tag += '_';
  if (content === '') return [`printf '' | ${command}`];
  if (!content.endsWith('\n')) return [`printf '%s' ${quote(content)} | ${command}`];
  return [`${command} <<'${tag}'`, content.replace(/\n$/, ''), tag];
}

/** Escapes text for a double-quoted local word: only \\, ", $ and ` are special there. */
function dq(s: string): string {
  return s.replace(/[\\"$`]/g, '\\$&');
}
