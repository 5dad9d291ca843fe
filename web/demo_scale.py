"""`linkage demo --scale city|province`: Jincheng's or Shanxi's compounds and enterprises.

The figures are the seed documents': Jincheng (晋城市) has 1,563 compounds (762 managed by
property enterprises, 335 in community trust, 256 by their work unit, 210 by their owners) and
202 enterprises rated in 2024 (A 32, B 77, C 92, D 1); Shanxi has 23,494 compounds (enterprise
10,802, community trust 2,752, owner self-management 3,176, work unit 2,538, none 4,226). The
province scale is Jincheng exactly as above plus the other ten cities sharing the rest, so a
province table and the Jincheng table both reproduce the published figures. The small demo's
three compounds and two enterprises count in Jincheng's figures.

Names are made up from common place-name stems, deterministically (a fixed random seed), and
the rows go through the same checks and writer as `linkage import orgs`, so loading twice
changes nothing. Cases come from `web.demo_cases`.
"""
import random
from dataclasses import dataclass

from sqlalchemy import func, select

from engine.models import Organisation
from workflows.imports import import_rows
from workflows.models import CREDIT_GRADES
from workflows.shanxi_divisions import CITIES

SEED = 20240607  # the day of the Jincheng reply
JINCHENG = "1405"
RATING_YEAR = 2024
TYPES = ("enterprise", "community_trust", "work_unit", "owner_self", "none")
JINCHENG_MIX = {"enterprise": 762, "community_trust": 335, "work_unit": 256, "owner_self": 210,
                "none": 0}
SHANXI_MIX = {"enterprise": 10802, "community_trust": 2752, "work_unit": 2538,
              "owner_self": 3176, "none": 4226}
JINCHENG_GRADES = {"A": 32, "B": 77, "C": 92, "D": 1}
JINCHENG_ENTERPRISES = 202
# Share of the other ten cities in the province's remaining compounds (urban size, roughly).
CITY_WEIGHTS = {"1401": 22, "1402": 10, "1403": 5, "1404": 10, "1406": 5, "1407": 10,
                "1408": 12, "1409": 7, "1410": 11, "1411": 8}
COMPOUNDS_PER_ENTERPRISE = 4

STREET_STEMS = ["东关", "西关", "南关", "北关", "新华", "解放", "建设", "人民", "和平", "迎宾", "文化",
                "胜利", "府东", "府西", "朝阳", "五一", "桃园", "长风", "龙城", "新城", "红旗", "矿区",
                "开发区", "学府", "滨河", "古城", "钟楼", "凤台", "南街", "北街", "东街", "西街"]
TOWN_STEMS = ["城关", "西营", "东城", "北留", "南岭", "柳树", "杨家", "王庄", "李村", "河西", "高都",
              "金村", "大阳", "巴公", "周村", "下村", "川底", "山河", "晋庙铺", "犁川"]
COMMUNITY_STEMS = ["阳光", "幸福", "和谐", "锦绣", "康乐", "花园", "书院", "文昌", "东城", "西城", "南苑",
                   "北苑", "新村", "红星", "友谊", "建华", "育才", "兴华", "惠民", "安康", "祥和", "富民",
                   "秀水", "青年", "光明", "春晖", "丰泽", "瑞丰", "宏达", "鑫苑"]
COMPOUND_STEMS = ["凤凰", "御景", "金色", "翠湖", "丽景", "锦华", "泰和", "万家", "世纪", "盛世", "碧水",
                  "文苑", "紫荆", "香榭", "汇丰", "国泰", "龙湖", "和平", "明珠", "华府", "东方", "泽园",
                  "锦绣", "怡馨", "康城", "嘉禾", "润泽", "金港", "书香", "清华"]
COMPOUND_ENDINGS = ["花园", "小区", "家园", "新城", "公寓", "雅居", "嘉园", "佳苑", "名都", "苑"]
WORK_UNITS = ["电力", "铁路", "煤矿", "供电", "邮电", "粮食局", "教育局", "人民医院", "化肥厂", "机械厂",
              "纺织厂", "税务局", "建筑公司", "水利局", "交通局", "无线电厂"]
ENTERPRISE_STEMS = ["安泰", "恒信", "金城", "华泰", "鑫源", "宏远", "永盛", "德润", "瑞祥", "嘉和", "和顺",
                    "盛达", "汇通", "锦程", "信诚", "康居", "乐居", "安馨", "佳缘", "泽润"]
ENTERPRISE_ENDINGS = ["物业服务有限公司", "物业管理有限公司", "物业服务集团有限公司"]


@dataclass
class ScaleRows:
    enterprises: list  # [{code, name, credit_grade, rating_year}] per rating year
    compounds: list  # [{code, name, city, district, street, community, management_type, enterprise_code}]
    ratings_2023: list


def _largest_remainder(total, weights):
    """Split `total` over `weights` in whole numbers that add up exactly."""
    whole = sum(weights.values())
    shares = {k: total * w / whole for k, w in weights.items()}
    counts = {k: int(v) for k, v in shares.items()}
    short = total - sum(counts.values())
    for key in sorted(shares, key=lambda k: shares[k] - counts[k], reverse=True)[:short]:
        counts[key] += 1
    return counts


def city_mixes(scale):
    """{city code: {management type: count}} for the scale."""
    if scale == "city":
        return {JINCHENG: dict(JINCHENG_MIX)}
    rest = {t: SHANXI_MIX[t] - JINCHENG_MIX[t] for t in TYPES}
    per_type = {t: _largest_remainder(rest[t], CITY_WEIGHTS) for t in TYPES}
    mixes = {city: {t: per_type[t][city] for t in TYPES} for city in CITY_WEIGHTS}
    return {JINCHENG: dict(JINCHENG_MIX), **mixes}


def _unique_names(rng, stems, ending, count, taken=()):
    names, used = [], set(taken)
    pool = [f"{s}{ending}" for s in stems]
    rng.shuffle(pool)
    for name in pool:
        if len(names) == count:
            return names
        if name not in used:
            used.add(name)
            names.append(name)
    number = 1
    while len(names) < count:
        name = f"{stems[number % len(stems)]}{number // len(stems) + 1}{ending}"
        if name not in used:
            used.add(name)
            names.append(name)
        number += 1
    return names


class _Places:
    """Streets and communities of a city, made up as compounds need them."""

    def __init__(self, rng, city_code, existing):
        self.rng = rng
        self.city_name, counties = CITIES[city_code]
        self.counties = counties
        self.existing = existing  # (district, street) -> [community names] already in the tree
        self.slots = []

    def build(self, compounds):
        """About six compounds to a community, five to eight communities to a street."""
        communities_needed = max(1, -(-compounds // 6))
        per_county = _largest_remainder(communities_needed, {
            code: (4 if name.endswith("区") else 2) for code, name in self.counties})
        for code, name in self.counties:
            wanted = per_county[code]
            if not wanted:
                continue
            urban = name.endswith("区") or name.endswith("市")
            stems = STREET_STEMS if urban else TOWN_STEMS
            ending = "街道" if urban else "镇"
            streets = max(1, -(-wanted // self.rng.randint(5, 8)))
            street_names = [s for (d, s) in self.existing if d == name]
            street_names += _unique_names(self.rng, stems, ending, max(0, streets - len(street_names)),
                                          street_names)
            left = wanted
            for index, street in enumerate(street_names):
                share = -(-left // (len(street_names) - index)) if index < len(street_names) else 0
                known = self.existing.get((name, street), [])
                ending = "社区" if urban else "村"
                names = known[:share] + _unique_names(self.rng, COMMUNITY_STEMS, ending,
                                                      max(0, share - len(known)), known)
                self.slots += [(name, street, community) for community in names]
                left -= share
        return self.slots


def _small_demo():
    """The small demo's places, compounds (all managed by enterprises) and enterprises: fixed
    data, so what a scale generates never depends on what the database holds."""
    from web.demo import DEMO_MANAGED_BY, DEMO_ORGS
    names = {code: (name, kind, parent) for code, name, kind, parent in DEMO_ORGS}
    places, compounds = {}, []
    for code, (name, kind, parent) in names.items():
        if kind == "community":
            street = names[parent]
            places.setdefault((names[street[2]][0], street[0]), []).append(name)
        if kind == "compound":
            compounds.append((code, name, "enterprise" if code in DEMO_MANAGED_BY else "none"))
    enterprises = [(code, name) for code, (name, kind, _p) in names.items() if kind == "enterprise"]
    return places, compounds, enterprises


PHASES = ["", "一期", "二期", "三期", "东区", "西区", "南区", "北区"]


class _CompoundNames:
    """Compound names unique within a county: stem and ending, then phases (一期, 东区...)."""

    def __init__(self, rng):
        self.rng = rng
        self.fresh = {}

    def next(self, county, management):
        unit = management == "work_unit"
        key = (county, unit)
        if key not in self.fresh:
            self.fresh[key] = self._pool(WORK_UNITS, ["家属院", "宿舍", "生活区"]) if unit \
                else self._pool(COMPOUND_STEMS, COMPOUND_ENDINGS)
        pool = self.fresh[key]
        return pool.pop() if pool else f"{self.rng.choice(COMPOUND_STEMS)}{len(self.fresh)}号院"

    def _pool(self, stems, endings):
        names = [f"{s}{e}{p}" for p in PHASES for s in stems for e in endings]
        head = names[:len(stems) * len(endings)]
        self.rng.shuffle(head)
        return list(reversed(head + names[len(head):]))  # plain names first, phases after


def _enterprise_names(rng, city_name, count, taken):
    names = sorted({f"{city_name}{first}{second}" for first in ENTERPRISE_STEMS
                    for second in ENTERPRISE_STEMS if first != second})
    rng.shuffle(names)
    used = set(taken)
    chosen = []
    for stem in names:
        name = f"{stem}{rng.choice(ENTERPRISE_ENDINGS)}"
        if len(chosen) == count:
            break
        if name not in used:
            used.add(name)
            chosen.append(name)
    return chosen


def _grades(rng, count, fixed=None):
    """`fixed` grade counts exactly, else a spread like Jincheng's (A 16%, B 38%, C 45%, D 1%)."""
    counts = fixed or _largest_remainder(count, {"A": 16, "B": 38, "C": 45, "D": 1})
    grades = [g for g in CREDIT_GRADES for _ in range(counts[g])]
    rng.shuffle(grades)
    return grades


def scale_rows(scale):
    """The compound and enterprise rows of the scale: the same every time (a fixed seed and
    the small demo's fixed data), so loading again changes nothing."""
    rng = random.Random(SEED)
    compounds, enterprises, earlier = [], [], []
    small_places, small_compounds, small_enterprises = _small_demo()
    for city_code, mix in city_mixes(scale).items():
        city_name = CITIES[city_code][0]
        mix = dict(mix)
        existing_places, own = {}, []
        if city_code == JINCHENG:  # the small demo lives in Jincheng and counts in its figures
            existing_places, own = small_places, list(small_enterprises)
            for _code, _name, kind in small_compounds:
                mix[kind] -= 1
        total = sum(mix.values())
        places = _Places(rng, city_code, existing_places).build(total)
        slots = [places[i * len(places) // total] for i in range(total)] if total else []
        wanted = JINCHENG_ENTERPRISES if city_code == JINCHENG else \
            max(1, round(mix["enterprise"] / COMPOUNDS_PER_ENTERPRISE))
        names = _enterprise_names(rng, city_name, max(0, wanted - len(own)), [n for _c, n in own])
        city_enterprises = own + [(f"E{city_code}{i:03d}", name) for i, name in enumerate(names, 1)]
        grades = _grades(rng, len(city_enterprises), JINCHENG_GRADES if city_code == JINCHENG else None)
        for (code, name), grade in zip(city_enterprises, grades):
            enterprises.append({"code": code, "name": name, "credit_grade": grade,
                                "rating_year": str(RATING_YEAR)})
            earlier_grade = grade if rng.random() < 0.7 else rng.choice("ABC")
            earlier.append({"code": code, "name": name, "credit_grade": earlier_grade,
                            "rating_year": str(RATING_YEAR - 1)})
        kinds = [t for t in TYPES for _ in range(mix[t])]
        rng.shuffle(kinds)
        managed = [code for code, _name in city_enterprises if code not in dict(own)] or \
            [code for code, _name in city_enterprises]
        # Every enterprise manages at least one compound; bigger ones manage more.
        weights = [rng.paretovariate(1.5) for _ in managed]
        assignment = list(managed) + rng.choices(managed, weights, k=max(0, mix["enterprise"] - len(managed)))
        rng.shuffle(assignment)
        names_of = _CompoundNames(rng)
        for index, ((district, street, community), kind) in enumerate(zip(slots, kinds), 1):
            enterprise = assignment.pop() if kind == "enterprise" and assignment else ""
            compounds.append({"code": f"C{city_code}{index:05d}",
                              "name": names_of.next((city_code, district), kind),
                              "city": city_name, "district": district, "street": street,
                              "community": community, "management_type": kind,
                              "enterprise_code": enterprise})
    return ScaleRows(enterprises, compounds, earlier)


def load_scale_orgs(eng, scale, progress):
    """Write the scale's enterprises (2023 and 2024 ratings) and compounds; idempotent."""
    rows = scale_rows(scale)
    now = eng.clock.now()
    numbered = lambda items: list(enumerate(items, 2))  # noqa: E731 - rows as an import file has them
    import_rows(eng.db, "enterprises", numbered(rows.ratings_2023), now, progress)
    import_rows(eng.db, "enterprises", numbered(rows.enterprises), now, progress)
    result = import_rows(eng.db, "compounds", numbered(rows.compounds), now, progress)
    with eng.db.unit_of_work(write=False) as session:
        total = session.scalar(select(func.count()).select_from(Organisation)
                               .where(Organisation.kind == "compound"))
    return result, total
