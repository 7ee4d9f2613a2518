"""Render nbs/index.ipynb to README.md without quarto (nbdev_readme needs quarto, which is not available).

Markdown cells are copied as they are; code cells are fenced as ```python, with their text outputs
fenced below them. Cells whose first lines carry `#| hide` are left out, and nbdev `#|` directive
lines are dropped. Usage: python .ci/render_readme.py [--check]   (--check: exit 1 if README.md is stale)
"""
import json, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent


def render(nb_path=root / 'nbs' / 'index.ipynb'):
    nb = json.loads(nb_path.read_text(encoding='utf-8'))
    parts = []
    for cell in nb['cells']:
        src = ''.join(cell['source'])
        lines = src.split('\n')
        directives = [l for l in lines if l.startswith('#|')]
        if any(d.split()[1:2] == ['hide'] or d.replace(' ', '') == '#|hide' for d in directives): continue
        if cell['cell_type'] == 'markdown':
            parts.append(src.strip('\n'))
            continue
        code = '\n'.join(l for l in lines if not l.startswith('#|')).strip('\n')
        if not code: continue
        parts.append(f'```python\n{code}\n```')
        text = ''.join(''.join(o.get('text', '')) if o.get('output_type') == 'stream'
                       else ''.join(o.get('data', {}).get('text/plain', ''))
                       for o in cell.get('outputs', []))
        if text.strip(): parts.append(f'```\n{text.rstrip()}\n```')
    return '<!-- Generated from nbs/index.ipynb by .ci/render_readme.py; edit the notebook, not this file. -->\n\n' + '\n\n'.join(parts) + '\n'


if __name__ == '__main__':
    out = render()
    readme = root / 'README.md'
    if '--check' in sys.argv:
        if not readme.exists() or readme.read_text(encoding='utf-8') != out:
            sys.exit('README.md is out of date with nbs/index.ipynb: run `python .ci/render_readme.py` and commit.')
        print('README.md matches nbs/index.ipynb')
    else:
        readme.write_text(out, encoding='utf-8')
        print(f'wrote {readme}')
