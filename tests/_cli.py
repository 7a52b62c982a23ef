"""The CLI as the tests call it: ``run(capsys, argv) -> (exit code, stdout, stderr)``."""
from lowdim.compare.cli import main


def run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err
