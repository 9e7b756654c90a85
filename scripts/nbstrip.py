"""Git's clean filter for notebooks/*.ipynb (.gitattributes; `make lab` and `make git-filter`
enable it): what git stores of a notebook is its cells' sources alone, so running the notebooks
leaves them unmodified in git while the working file keeps its outputs for JupyterLab.

Reads a notebook on stdin and writes it on stdout without outputs, execution counts, cell
metadata other than tags, or notebook metadata other than the kernel spec and the language name;
in the layout the notebooks are committed in (JSON, indent 1). Standard library only.
"""
import json
import sys


def strip(nb: dict) -> dict:
    for cell in nb.get("cells", []):
        tags = cell.get("metadata", {}).get("tags")
        cell["metadata"] = {"tags": tags} if tags else {}
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    meta = nb.get("metadata", {})
    nb["metadata"] = {"kernelspec": meta.get("kernelspec", {}),
                      "language_info": {"name": meta.get("language_info", {}).get("name", "python")}}
    return nb


def main() -> None:
    text = sys.stdin.read()
    try:
        nb = json.loads(text)
    except json.JSONDecodeError:
        sys.stdout.write(text)   # not a notebook (a merge in progress): stored as it is
        return
    sys.stdout.write(json.dumps(strip(nb), indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
