/**
 * `shipote completion bash|zsh|fish`: completion scripts generated from the commander tree,
 * so a new command or flag completes without editing a script. Each script holds two
 * tables, keyed by the command path (`shipote`, `shipote workspace`): its subcommands and
 * its flags; the shell walks the words typed so far down the tree.
 */

import type { Command, Option } from 'commander';
import { usage } from './errors.js';

export interface CompletionNode {
  /** `shipote`, `shipote workspace`, … */
  path: string;
  description: string;
  subs: { name: string; description: string }[];
  flags: { flag: string; description: string }[];
  /** Takes positional arguments (files complete there). */
  takesArgs: boolean;
}

function flagsOf(options: readonly Option[]): { flag: string; description: string }[] {
  const out: { flag: string; description: string }[] = [];
  for (const o of options) {
    if (o.long) out.push({ flag: o.long, description: o.description });
    if (o.short) out.push({ flag: o.short, description: o.description });
  }
  return out;
}

/** Every command of the tree, depth first; global flags belong to the root only. */
export function completionTree(program: Command): CompletionNode[] {
  const nodes: CompletionNode[] = [];
  const walk = (cmd: Command, path: string) => {
    const subs = cmd.commands.map((c) => ({ name: c.name(), description: c.description() }));
    const flags = [...flagsOf(cmd.options), { flag: '--help', description: 'show help' }];
    const takesArgs = cmd.registeredArguments.length > 0;
    nodes.push({ path, description: cmd.description(), subs, flags, takesArgs });
    for (const c of cmd.commands) walk(c, `${path} ${c.name()}`);
  };
  walk(program, program.name());
  return nodes;
}

const quoteSingle = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function bashCompletion(nodes: CompletionNode[]): string {
  const subs = nodes.map((n) => `  [${quoteSingle(n.path)}]=${quoteSingle(subNames(n))}`);
  const flags = nodes.map((n) => `  [${quoteSingle(n.path)}]=${quoteSingle(flagNames(n))}`);
  return `# shipote bash completion: source <(shipote completion bash)
declare -gA _shipote_subs=(
${subs.join('\n')}
)
declare -gA _shipote_flags=(
${flags.join('\n')}
)
_shipote() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" node="shipote" i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ " \${_shipote_subs[$node]} " == *" $w "* ]] && node="$node $w"
  done
  if [[ "$cur" == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "\${_shipote_flags[$node]}" -- "$cur")
  elif [[ -n "\${_shipote_subs[$node]}" ]]; then
    mapfile -t COMPREPLY < <(compgen -W "\${_shipote_subs[$node]}" -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
}
complete -o filenames -F _shipote shipote
`;
}

export function zshCompletion(nodes: CompletionNode[]): string {
  const subs = nodes.map((n) => `    ${quoteSingle(n.path)} ${quoteSingle(subNames(n))}`);
  const flags = nodes.map((n) => `    ${quoteSingle(n.path)} ${quoteSingle(flagNames(n))}`);
  return `#compdef shipote
# shipote zsh completion: source <(shipote completion zsh), or save as _shipote in $fpath
_shipote() {
  local -A subs flags
  subs=(
${subs.join('\n')}
  )
  flags=(
${flags.join('\n')}
  )
  local node=shipote w
  for w in \${words[2,CURRENT-1]}; do
    [[ " \${subs[$node]} " == *" $w "* ]] && node="$node $w"
  done
  if [[ $PREFIX == -* ]]; then
    compadd -- \${=flags[$node]}
  elif [[ -n \${subs[$node]} ]]; then
    compadd -- \${=subs[$node]}
  else
    _files
  fi
}
if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then
  _shipote "$@"
else
  compdef _shipote shipote
fi
`;
}

export function fishCompletion(nodes: CompletionNode[]): string {
  const paths = nodes.slice(1).map((n) => quoteSingle(n.path.split(' ').slice(1).join(' ')));
  const lines = [
    '# shipote fish completion: shipote completion fish | source',
    `set -g __shipote_paths ${paths.join(' ')}`,
    '# The command path typed so far: the words that walk down the command tree.',
    'function __shipote_path',
    '  set -l path',
    '  for x in (commandline -opc)[2..-1]',
    "    string match -q -- '-*' $x; and continue",
    '    set -l next (string join " " $path $x)',
    '    contains -- $next $__shipote_paths; and set path $next',
    '  end',
    '  string join " " $path',
    'end',
    'function __shipote_at',
    '  set -l p (__shipote_path)',
    '  test "$p" = "$argv[1]"',
    'end',
    'complete -c shipote -f',
  ];
  const clean = (s: string) => quoteSingle(s.replace(/\n/g, ' '));
  for (const n of nodes) {
    const at = n.path.split(' ').slice(1).join(' ');
    const cond = `"__shipote_at '${at}'"`;
    if (n.takesArgs && n.subs.length === 0) lines.push(`complete -c shipote -n ${cond} -F`);
    for (const s of n.subs) {
      lines.push(`complete -c shipote -n ${cond} -a ${s.name} -d ${clean(s.description)}`);
    }
    for (const f of n.flags) {
      const flag = f.flag.startsWith('--') ? `-l ${f.flag.slice(2)}` : `-s ${f.flag.slice(1)}`;
      lines.push(`complete -c shipote -n ${cond} ${flag} -d ${clean(f.description)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function subNames(n: CompletionNode): string {
  return n.subs.map((s) => s.name).join(' ');
}

function flagNames(n: CompletionNode): string {
  return n.flags.map((f) => f.flag).join(' ');
}

export const completionShells = ['bash', 'zsh', 'fish'] as const;

export function completionScript(program: Command, shell: string): string {
  const nodes = completionTree(program);
  if (shell === 'bash') return bashCompletion(nodes);
  if (shell === 'zsh') return zshCompletion(nodes);
  if (shell === 'fish') return fishCompletion(nodes);
  throw usage(`completion expects one of ${completionShells.join(', ')}, got "${shell}"`);
}
