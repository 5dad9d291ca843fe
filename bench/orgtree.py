"""Organisation trees: a small slice of Jincheng, and Shanxi province at full scale.

The province tree has Shanxi's 11 cities and 117 county-level districts with their real
per-city counts, about 1,400 streets and towns, about 4,200 communities and exactly 23,494
compounds (the province figure of the contract), spread unevenly as real compounds are: a few
communities hold dozens, most hold a handful. Names are generated; codes follow the
administrative pattern (city 1401, district 140105, street 140105001, community 140105001001).
"""
import random

from sqlalchemy import insert

from engine.models import Organisation

PROVINCE = ("14", "山西省")
# city code, name, number of county-level districts (117 in all)
CITIES = [("1401", "太原市", 10), ("1402", "大同市", 10), ("1403", "阳泉市", 5),
          ("1404", "长治市", 12), ("1405", "晋城市", 6), ("1406", "朔州市", 6),
          ("1407", "晋中市", 11), ("1408", "运城市", 13), ("1409", "忻州市", 14),
          ("1410", "临汾市", 17), ("1411", "吕梁市", 13)]
PROVINCE_COMPOUNDS = 23_494


def _node(code, name, kind, parent, parent_path):
    return {"code": code, "name": name, "kind": kind, "parent_code": parent,
            "path": f"{parent_path}{code}/", "attributes": {}}


def province_tree(seed=7):
    """Every node of the province tree, parents before children."""
    rng = random.Random(seed)
    province = _node(PROVINCE[0], PROVINCE[1], "province", None, "")
    nodes, communities = [province], []
    for city_code, city_name, districts in CITIES:
        city = _node(city_code, city_name, "city", province["code"], province["path"])
        nodes.append(city)
        for d in range(1, districts + 1):
            district = _node(f"{city_code}{d:02d}", f"{city_name[:-1]}第{d}区", "district",
                             city["code"], city["path"])
            nodes.append(district)
            for s in range(1, rng.randint(8, 16) + 1):
                street = _node(f"{district['code']}{s:03d}", f"{district['name']}第{s}街道",
                               "street", district["code"], district["path"])
                nodes.append(street)
                for c in range(1, rng.randint(2, 4) + 1):
                    community = _node(f"{street['code']}{c:03d}", f"{street['name']}第{c}社区",
                                      "community", street["code"], street["path"])
                    nodes.append(community)
                    communities.append(community)
    weights = [rng.lognormvariate(0, 0.8) for _ in communities]
    scale = (PROVINCE_COMPOUNDS - len(communities)) / sum(weights)
    counts = [1 + int(w * scale) for w in weights]
    for i in range(PROVINCE_COMPOUNDS - sum(counts)):  # rounding: top up to the exact total
        counts[i % len(counts)] += 1
    serial = 0
    for community, count in zip(communities, counts):
        for m in range(1, count + 1):
            serial += 1
            nodes.append(_node(f"C14{serial:06d}", f"{community['name']}{m}号小区", "compound",
                               community["code"], community["path"]))
    return nodes


def jincheng_slice():
    """The demo's slice: one street, two communities, three compounds."""
    province = _node("14", "山西省", "province", None, "")
    city = _node("1405", "晋城市", "city", "14", province["path"])
    district = _node("140502", "城区", "district", "1405", city["path"])
    street = _node("140502001", "西街街道", "street", "140502", district["path"])
    fengtai = _node("140502001001", "凤台社区", "community", "140502001", street["path"])
    zhong = _node("140502001002", "钟家庄社区", "community", "140502001", street["path"])
    return [province, city, district, street, fengtai, zhong,
            _node("C0001", "凤台花园", "compound", fengtai["code"], fengtai["path"]),
            _node("C0002", "书院小区", "compound", fengtai["code"], fengtai["path"]),
            _node("C0003", "钟家庄小区", "compound", zhong["code"], zhong["path"])]


def insert_tree(database, nodes, chunk=5000):
    with database.engine.begin() as conn:
        for i in range(0, len(nodes), chunk):
            conn.execute(insert(Organisation), nodes[i:i + chunk])


def compounds(nodes):
    return [n for n in nodes if n["kind"] == "compound"]


def bench_user(engine, username, role, org_code):
    """A user with an API token (the token in clear, as a client holds it)."""
    from engine.users import add_user, issue_token
    with engine.db.unit_of_work() as session:
        user = add_user(session, username, "bench-" + username, role, org_code, now=engine.clock.now())
        return issue_token(session, user, engine.clock.now())


def principal(engine, username):
    from sqlalchemy import select
    from engine.models import User
    from engine.users import principal_for
    with engine.db.unit_of_work(write=False) as session:
        return principal_for(session, session.scalar(select(User).where(User.username == username)))
