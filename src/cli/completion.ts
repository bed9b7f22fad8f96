/**
 * `ccproxy --show-completion bash|zsh|fish`: a completion script generated from the command tree,
 * so a new command or option completes without anyone editing a script.
 */
import type { Command } from 'commander';

interface Node {
  path: string[];
  subcommands: string[];
  options: string[];
}

function walk(cmd: Command, path: string[], out: Node[]): void {
  const options = cmd.options.flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x)));
  out.push({ path, subcommands: cmd.commands.map((c) => c.name()), options: [...options, '--help'] });
  for (const c of cmd.commands) walk(c, [...path, c.name()], out);
}

export function completionScript(program: Command, shell: string): string {
  const nodes: Node[] = [];
  walk(program, [], nodes);
  const name = program.name();
  switch (shell) {
    case 'bash': {
      const cases = nodes
        .map((n) => `    "${n.path.join(' ')}") words="${[...n.subcommands, ...n.options].join(' ')}" ;;`)
        .join('\n');
      return `# bash completion for ${name}; add to ~/.bashrc: eval "$(${name} --show-completion bash)"
_${name}_complete() {
  local cur path="" words="" w
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$w" in -*) ;; *) path="\${path:+$path }$w" ;; esac
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -F _${name}_complete ${name}
`;
    }
    case 'zsh': {
      const cases = nodes
        .map((n) => `    "${n.path.join(' ')}") cands=(${[...n.subcommands, ...n.options].join(' ')}) ;;`)
        .join('\n');
      return `#compdef ${name}
# zsh completion for ${name}; add to ~/.zshrc: eval "$(${name} --show-completion zsh)"
_${name}() {
  local cmdpath="" w
  local -a cands
  for w in \${words[2,CURRENT-1]}; do
    [[ $w == -* ]] || cmdpath="\${cmdpath:+$cmdpath }$w"
  done
  case "$cmdpath" in
${cases}
  esac
  compadd -- $cands
}
compdef _${name} ${name}
`;
    }
    case 'fish': {
      const lines = [
        `# fish completion for ${name}; save as ~/.config/fish/completions/${name}.fish`,
        `complete -c ${name} -f`,
      ];
      for (const n of nodes) {
        const cond =
          n.path.length === 0
            ? '__fish_use_subcommand'
            : `__fish_seen_subcommand_from ${n.path[n.path.length - 1]}`;
        for (const s of n.subcommands) lines.push(`complete -c ${name} -n '${cond}' -a ${s}`);
        for (const o of n.options) {
          if (o.startsWith('--')) lines.push(`complete -c ${name} -n '${cond}' -l ${o.slice(2)}`);
          else lines.push(`complete -c ${name} -n '${cond}' -s ${o.slice(1)}`);
        }
      }
      return `${lines.join('\n')}\n`;
    }
    default:
      throw new Error(`Unknown shell "${shell}": use bash, zsh or fish.`);
  }
}
