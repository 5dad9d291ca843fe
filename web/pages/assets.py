"""Front-end libraries from npm, copied into `web/static/vendor/` at set-up (never committed).

`make setup` runs `npm ci` (versions pinned in package.json and package-lock.json), then
`python -m web.pages.assets`, which copies the few built files the pages load out of
node_modules. The pages work without them (the diagram and the charts are then replaced by a
note and the tables); the browser tests require them.
"""
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "web" / "static" / "vendor"

# (source under node_modules, destination under web/static/vendor)
FILES = [
    ("bpmn-js/dist/bpmn-navigated-viewer.production.min.js", "bpmn-js/bpmn-navigated-viewer.min.js"),
    ("bpmn-js/dist/assets/diagram-js.css", "bpmn-js/diagram-js.css"),
    ("bpmn-js/dist/assets/bpmn-js.css", "bpmn-js/bpmn-js.css"),
    ("bpmn-js/dist/assets/bpmn-font/css/bpmn.css", "bpmn-js/bpmn-font/css/bpmn.css"),
    ("bpmn-js/dist/assets/bpmn-font/font/bpmn.woff2", "bpmn-js/bpmn-font/font/bpmn.woff2"),
    ("bpmn-js/dist/assets/bpmn-font/font/bpmn.woff", "bpmn-js/bpmn-font/font/bpmn.woff"),
    ("bpmn-js/dist/assets/bpmn-font/font/bpmn.ttf", "bpmn-js/bpmn-font/font/bpmn.ttf"),
    ("bpmn-js/dist/assets/bpmn-font/font/bpmn.eot", "bpmn-js/bpmn-font/font/bpmn.eot"),
    ("bpmn-js/dist/assets/bpmn-font/font/bpmn.svg", "bpmn-js/bpmn-font/font/bpmn.svg"),
    ("echarts/dist/echarts.min.js", "echarts/echarts.min.js"),
    ("bpmn-js/LICENSE", "bpmn-js/LICENSE"),
    ("echarts/LICENSE", "echarts/LICENSE"),
]
REQUIRED = ("bpmn-js/bpmn-navigated-viewer.min.js", "echarts/echarts.min.js")


def vendor_ready():
    """Are the libraries the diagram and the charts need in place?"""
    return all((VENDOR / name).is_file() for name in REQUIRED)


def copy_assets(node_modules=NODE_MODULES, vendor=VENDOR):
    missing = [src for src, _ in FILES if not (node_modules / src).is_file()]
    if missing:
        raise FileNotFoundError("node_modules 中缺少：" + "、".join(missing) + "（请先运行 npm ci）")
    for src, dest in FILES:
        target = vendor / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(node_modules / src, target)
    return [dest for _, dest in FILES]


def main():
    try:
        copied = copy_assets()
    except FileNotFoundError as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 1
    print(f"已复制 {len(copied)} 个前端文件到 {VENDOR.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
