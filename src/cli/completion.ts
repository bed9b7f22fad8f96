/**
 * `ccproxy --show-completion bash|zsh|fish`: a completion script generated from the command tree,
 * so a new command or option completes without anyone editing a script.
 *
 * Each script finds the command path the same way: the words typed so far, less options and the
 * value after an option that takes one (`--port 8080`, `-c x.toml`), so `ccproxy -c x.toml config
 * <TAB>` completes `config`'s subcommands. After an option that takes a file, files complete.
 */
import type { Command } from 'commander';

interface Node {
  path: string[];
  subcommands: string[];
  options: string[];
}

interface Tree {
  nodes: Node[];
  /** Options that take a value (the next word is that value, not a command). */
  valued: Set<string>;
  /** …of which those whose value is a file or folder. */
  files: Set<string>;
}

/** Option names whose value is a path (settings files, exports, `config init --path`). */
const FILE_VALUE = /^--(config|path|har|output|file)$/;

function walk(cmd: Command, path: string[], tree: Tree): void {
  const options: string[] = [];
  for (const o of cmd.options) {
    const names = [o.long, o.short].filter((x): x is string => Boolean(x));
    options.push(...names);
    if (o.required || o.optional) {
      for (const n of names) tree.valued.add(n);
      if (o.long && FILE_VALUE.test(o.long)) for (const n of names) tree.files.add(n);
    }
  }
  // commander's implicit `help` command is not in the tree.
  const subcommands = cmd.commands.map((c) => c.name());
  if (path.length === 0) subcommands.push('help');
  tree.nodes.push({ path, subcommands, options: [...options, '--help'] });
  for (const c of cmd.commands) walk(c, [...path, c.name()], tree);
}

export function completionScript(program: Command, shell: string): string {
  const tree: Tree = { nodes: [], valued: new Set(), files: new Set() };
  walk(program, [], tree);
  const name = program.name();
  const fn = `_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const valued = [...tree.valued].join(' ');
  const files = [...tree.files].join(' ');
  const words = (n: Node) => [...n.subcommands, ...n.options].join(' ');
  switch (shell) {
    case 'bash': {
      const cases = tree.nodes.map((n) => `    "${n.path.join(' ')}") words="${words(n)}" ;;`).join('\n');
      return `# bash completion for ${name}; add to ~/.bashrc: eval "$(${name} --show-completion bash)"
${fn}_complete() {
  local cur prev path="" words="" w skip=""
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case " ${files} " in *" $prev "*) COMPREPLY=( $(compgen -f -- "$cur") ); return ;; esac
  case " ${valued} " in *" $prev "*) COMPREPLY=(); return ;; esac
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    if [ -n "$skip" ]; then skip=""; continue; fi
    case " ${valued} " in *" $w "*) skip=1; continue ;; esac
    case "$w" in -*) ;; *) path="\${path:+$path }$w" ;; esac
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -F ${fn}_complete ${name}
`;
    }
    case 'zsh': {
      const cases = tree.nodes.map((n) => `    "${n.path.join(' ')}") cands=(${words(n)}) ;;`).join('\n');
      return `#compdef ${name}
# zsh completion for ${name}; add to ~/.zshrc: eval "$(${name} --show-completion zsh)"
${fn}() {
  local cmdpath="" w skip=""
  local -a cands valued files
  valued=(${valued})
  files=(${files})
  if (( \${files[(Ie)\${words[CURRENT-1]}]} )); then _files; return; fi
  if (( \${valued[(Ie)\${words[CURRENT-1]}]} )); then return; fi
  for w in \${words[2,CURRENT-1]}; do
    if [[ -n $skip ]]; then skip=""; continue; fi
    if (( \${valued[(Ie)$w]} )); then skip=1; continue; fi
    [[ $w == -* ]] || cmdpath="\${cmdpath:+$cmdpath }$w"
  done
  case "$cmdpath" in
${cases}
  esac
  compadd -- $cands
}
compdef ${fn} ${name}
`;
    }
    case 'fish': {
      const lines = [
        `# fish completion for ${name}; save as ~/.config/fish/completions/${name}.fish`,
        '# Whether the command path typed so far (words less options and the values of options that',
        '# take one) is the one given: `__at auth` is true after `ccproxy -c x.toml auth`.',
        `function __${fn}_at`,
        '  set -l words (commandline -opc)',
        '  set -e words[1]',
        '  set -l path',
        '  set -l skip 0',
        '  for w in $words',
        '    if test $skip = 1',
        '      set skip 0',
        '      continue',
        '    end',
        `    if contains -- $w ${valued}`,
        '      set skip 1',
        '      continue',
        '    end',
        "    string match -q -- '-*' $w; or set -a path $w",
        '  end',
        '  test "$path" = "$argv"',
        'end',
        // No file names for commands; an option that takes a path asks for them (-F below).
        `complete -c ${name} -f`,
      ];
      for (const n of tree.nodes) {
        const cond = `__${fn}_at ${n.path.join(' ')}`.trimEnd();
        for (const s of n.subcommands) lines.push(`complete -c ${name} -n '${cond}' -a ${s}`);
        for (const o of n.options) {
          const flag = o.startsWith('--') ? `-l ${o.slice(2)}` : `-s ${o.slice(1)}`;
          const value = tree.files.has(o) ? ' -r -F' : tree.valued.has(o) ? ' -r' : '';
          lines.push(`complete -c ${name} -n '${cond}' ${flag}${value}`);
        }
      }
      return `${lines.join('\n')}\n`;
    }
    default:
      throw new Error(`Unknown shell "${shell}": use bash, zsh or fish.`);
  }
}
