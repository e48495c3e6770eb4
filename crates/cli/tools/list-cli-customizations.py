"""Lists the official AWS CLI's customizations (docs/cli-customizations.md): run it with the
Python of an AWS CLI (v2: `/usr/bin/python3` with Debian's awscli; v1: the compat venv's) and
it prints JSON rows [kind, path, class]: `command` (hand-written commands and subcommands),
`added` / `renamed` / `replaced` arguments of modelled operations, `removed` members.
kagi's column of the doc comes from running kagi with each row (see the doc).
"""
import sys, json
from awscli.clidriver import create_clidriver, ServiceCommand, ServiceOperation
from awscli.arguments import CustomArgument, CLIArgument
from botocore import xform_name
d = create_clidriver()
table = d._get_command_table()
GENERIC = {'cli-input-json','cli-input-yaml','generate-cli-skeleton','starting-token','page-size','max-items'}
rows = []
def subcmds(prefix, cmd, depth=0):
    try:
        st = cmd.subcommand_table
    except Exception:
        st = {}
    for n, c in (st or {}).items():
        rows.append(['command', prefix + [n], type(c).__name__])
        subcmds(prefix + [n], c, depth+1)
for name, cmd in sorted(table.items()):
    if not isinstance(cmd, ServiceCommand):
        rows.append(['command', [name], type(cmd).__name__])
        subcmds([name], cmd)
        continue
    try:
        sub = cmd._get_command_table()
    except Exception as e:
        print('ERR', name, e, file=sys.stderr); continue
    for op, oc in sorted(sub.items()):
        if not isinstance(oc, ServiceOperation):
            rows.append(['command', [name, op], type(oc).__name__])
            subcmds([name, op], oc)
            continue
        try:
            at = oc.arg_table
        except Exception as e:
            print('ERR', name, op, e, file=sys.stderr); continue
        om = oc._operation_model
        members = {}
        if om.input_shape is not None:
            for m in om.input_shape.members:
                members[xform_name(m, '-')] = m
        for an, arg in at.items():
            if an in GENERIC: continue
            if an == 'outfile' and type(arg).__name__ == 'StreamingOutputArgument': continue
            cls = type(arg).__name__
            is_model_cls = type(arg) in (CLIArgument,) or cls in ('ListArgument','BooleanArgument')
            if is_model_cls and an in members: continue
            if is_model_cls and an not in members:
                # renamed model argument
                sn = getattr(arg, '_serialized_name', None)
                rows.append(['renamed', [name, op, an], sn]); continue
            kind = 'replaced' if an in members else 'added'
            rows.append([kind, [name, op, an], cls])
        for mn, m in members.items():
            if mn not in at:
                # renamed or removed
                renamed = [a for a, arg in at.items() if getattr(arg, '_serialized_name', None) == m and a != mn]
                if not renamed:
                    rows.append(['removed', [name, op, mn], m])
json.dump(rows, sys.stdout)
