"""`localhb completion bash|zsh|fish`: a shell completion script, made from the parser.

Commands, actions and options come from the argparse tree itself, so the
script never lags behind the CLI. Task ids (for `run`, `runs --task`, `runs
show`) are asked of the program when you press TAB: `localhb completion
--task-ids` prints the ids of the HEARTBEAT.md in force (honouring a `--home`
or `--config` already typed), one a line, and nothing at all on any problem.

    eval "$(localhb completion bash)"        # in ~/.bashrc
    eval "$(localhb completion zsh)"         # in ~/.zshrc
    localhb completion fish > ~/.config/fish/completions/localhb.fish
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

SHELLS = ("bash", "zsh", "fish")
ID_OPTIONS = ("--task",)
"""Options whose value is a task id."""
ID_POSITIONALS = {"run", "runs show"}
"""Commands whose first positional argument is a task id."""
FILE_OPTIONS = ("--home", "--config", "--file")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish), task ids included",
        description='Print a completion script for SHELL. Install it with `eval "$(localhb '
        'completion bash)"` in ~/.bashrc, `eval "$(localhb completion zsh)"` in ~/.zshrc, '
        "or `localhb completion fish > ~/.config/fish/completions/localhb.fish`. It "
        "completes commands, options and the task ids of your HEARTBEAT.md.",
    )
    p.add_argument("shell", nargs="?", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    p.add_argument("--task-ids", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    if args.task_ids:
        for task_id in _task_ids(args):
            print(task_id)
        return 0
    if args.shell is None:
        print("localhb: error: completion: name a shell: bash, zsh or fish", file=sys.stderr)
        return 2
    tree = command_tree(args.build_parser())  # set by `localhb.cli.build_parser`
    print({"bash": bash, "zsh": zsh, "fish": fish}[args.shell](tree))
    return 0


def _task_ids(args: argparse.Namespace) -> list[str]:
    """The task ids of the file in force; none on any problem (completion must stay quiet)."""
    try:
        from localhb.cli.common import load, read_document

        config = load(args)
        doc = read_document(config.heartbeat.file, config)
    except Exception:
        return []
    return list(dict.fromkeys(t.id for t in doc.pending()))


@dataclass(frozen=True, slots=True)
class Node:
    """One command path (`""`, `"daemon"`, `"daemon start"`): what may follow it."""

    path: str
    commands: tuple[str, ...]
    options: tuple[str, ...]
    choices: tuple[str, ...]  # the values of a positional with fixed choices


def command_tree(parser: argparse.ArgumentParser, path: str = "") -> list[Node]:
    commands: list[str] = []
    options: list[str] = []
    choices: list[str] = []
    children: list[Node] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                commands.append(name)
                children += command_tree(child, f"{path} {name}".strip())
        elif action.option_strings and action.help is not argparse.SUPPRESS:
            options += action.option_strings
        elif not action.option_strings and action.choices:
            choices += [str(c) for c in action.choices]
    return [Node(path, tuple(commands), tuple(options), tuple(choices)), *children]


def _words(node: Node) -> str:
    return " ".join([*node.commands, *node.choices, *node.options])


def bash(tree: list[Node]) -> str:
    cases = "\n".join(f'        "{n.path}") words="{_words(n)}" ;;' for n in tree)
    with_ids = "|".join(f'"{p}"' for p in sorted(ID_POSITIONALS))
    parents = " ".join(f'"{n.path}"' for n in tree if n.commands)
    return f"""# localhb completion for bash (`eval "$(localhb completion bash)"`)
_localhb() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local path="" given=() positional=0 i w words=""
    local -a parents=({parents})
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${{COMP_WORDS[i]}}"
        case "$w" in
            --home|--config) given+=("$w" "${{COMP_WORDS[i+1]}}"); ((i++)) ;;
            --file|--task|--limit|--at|--now) ((i++)) ;;
            -*) ;;
            *)
                local p is_parent=0
                for p in "${{parents[@]}}"; do [[ "$p" == "$path" ]] && is_parent=1; done
                if ((is_parent)); then path="${{path:+$path }}$w"; else ((positional++)); fi
                ;;
        esac
    done
    case "$prev" in
        --home|--config|--file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --task) COMPREPLY=($(compgen -W "$(command localhb "${{given[@]}}" completion \\
                    --task-ids 2>/dev/null)" -- "$cur")); return ;;
        --limit|--at|--now) COMPREPLY=(); return ;;
    esac
    if [[ "$cur" != -* ]] && ((positional == 0)); then
        case "$path" in
            {with_ids or '""'})
                COMPREPLY=($(compgen -W "$(command localhb "${{given[@]}}" completion \\
                    --task-ids 2>/dev/null)" -- "$cur")); return ;;
        esac
    fi
    case "$path" in
{cases}
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -o default -F _localhb localhb"""


def zsh(tree: list[Node]) -> str:
    return (
        '# localhb completion for zsh (`eval "$(localhb completion zsh)"`)\n'
        "autoload -U +X compinit && { (( $+functions[compdef] )) || compinit }\n"
        "autoload -U +X bashcompinit && bashcompinit\n" + bash(tree).split("\n", 1)[1]
    )


def fish(tree: list[Node]) -> str:
    lines = [
        "# localhb completion for fish (`localhb completion fish | source`)",
        "function __localhb_path",
        "    set -l words (commandline -opc)",
        "    set -e words[1]",
        "    set -l path",
        "    set -l skip 0",
        "    for w in $words",
        "        if test $skip = 1; set skip 0; continue; end",
        "        switch $w",
        "            case --home --config --file --task --limit --at --now",
        "                set skip 1",
        "            case '-*'",
        "            case '*'",
        "                set path $path $w",
        "        end",
        "    end",
        '    echo (string join " " -- $path)',
        "end",
        "function __localhb_at",
        '    test (__localhb_path) = "$argv"',
        "end",
        "function __localhb_ids",
        "    set -l words (commandline -opc)",
        "    set -l given",
        "    for i in (seq (count $words))",
        "        if contains -- $words[$i] --home --config",
        "            set given $given $words[$i] $words[(math $i + 1)]",
        "        end",
        "    end",
        "    command localhb $given completion --task-ids 2>/dev/null",
        "end",
        "complete -c localhb -f",
    ]
    for n in tree:
        cond = f"__localhb_at '{n.path}'"
        for word in (*n.commands, *n.choices):
            lines.append(f"complete -c localhb -n \"{cond}\" -a '{word}'")
        for opt in n.options:
            if opt.startswith("--"):
                needs = " -r -F" if opt in FILE_OPTIONS else ""
                needs = " -x -a '(__localhb_ids)'" if opt in ID_OPTIONS else needs
                lines.append(f'complete -c localhb -n "{cond}" -l {opt[2:]}{needs}')
    for path in sorted(ID_POSITIONALS):
        lines.append(f"complete -c localhb -n \"__localhb_at '{path}'\" -a '(__localhb_ids)'")
    return "\n".join(lines)
