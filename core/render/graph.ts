// `kubestrap graph`: the step graph as an indented tree, Graphviz dot or Mermaid.
import type { Graph } from '../graph.ts';
import { terminalText } from './escape.ts';

export function renderGraph(graph: Graph, format: 'text' | 'dot' | 'mermaid'): string {
  const steps = graph.steps;
  if (format === 'dot') {
    const q = (v: string) => JSON.stringify(terminalText(v));
    const lines = [`digraph ${q(graph.recipe.name)} {`, '  rankdir=LR;', '  node [shape=box];'];
    for (const s of steps) {
      lines.push(
        `  ${q(s.id)} [label=${
          JSON.stringify(`${terminalText(s.id)}\n${terminalText(s.task.name)}${s.host === 'local' ? '' : `\n@${terminalText(s.host)}`}`)
        }];`,
      );
    }
    for (const s of steps) for (const n of s.needs) lines.push(`  ${q(n)} -> ${q(s.id)};`);
    lines.push('}');
    return lines.join('\n') + '\n';
  }
  if (format === 'mermaid') {
    const ids = new Map(steps.map((s, i) => [s.id, `s${i}`]));
    const esc = (t: string) => terminalText(t).replace(/"/g, '#quot;').replace(/[<>]/g, (c) => (c === '<' ? '#lt;' : '#gt;'));
    const lines = ['flowchart LR'];
    for (const s of steps) lines.push(`  ${ids.get(s.id)}["${esc(s.id)}<br/>${esc(s.task.name)}${s.host === 'local' ? '' : `<br/>@${esc(s.host)}`}"]`);
    for (const s of steps) for (const n of s.needs) lines.push(`  ${ids.get(n)} --> ${ids.get(s.id)}`);
    return lines.join('\n') + '\n';
  }
  const lines = [terminalText(`${graph.recipe.name}${graph.recipe.description ? ` — ${graph.recipe.description}` : ''}`)];
  for (const s of steps) {
    lines.push(terminalText(`  ${s.id} (${s.task.name}${s.host === 'local' ? '' : ` on ${s.host}`})${s.needs.length ? ` ← ${s.needs.join(', ')}` : ''}`));
  }
  return lines.join('\n') + '\n';
}
