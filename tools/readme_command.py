"""Print the N-th command of the README's "Two commands on a fresh machine" section (1 or 2), so CI
runs the commands exactly as a newcomer copies them.

    bash -euo pipefail -c "$(python3 tools/readme_command.py 1)"
"""
import re
import sys
from pathlib import Path


def readme_commands(path=Path(__file__).resolve().parent.parent / "README.md"):
    text = path.read_text()
    section = text.split("## Two commands on a fresh machine", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, re.S)]


if __name__ == "__main__":
    commands = readme_commands()
    if len(commands) != 2:
        sys.exit(f"the README's 'Two commands' section has {len(commands)} bash blocks, not 2")
    print(commands[int(sys.argv[1]) - 1])
