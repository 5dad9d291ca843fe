"""The exit and handover checklist of Civil Code (民法典) Art. 949.

On termination the old provider returns the service rooms, the related facilities and the
materials needed for the service to the owners' committee, the self-managing owners or their
nominee, and truthfully reports the state of the property. Local rules spell the materials out:
completion and underground pipe drawings, installation and maintenance records, the owner
roster, keys, prepaid fees, public revenue balances, maintenance fund records. The receiving side
confirms every item; until every item is confirmed the handover is not complete, whatever was
said about it.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["HANDOVER_ITEMS", "RECEIVERS", "checklist", "merge_confirmed", "outstanding"]

#: Item code -> what is handed over (in the order a handover record lists them).
HANDOVER_ITEMS = MappingProxyType({
    "service_rooms": "物业服务用房",
    "facilities": "共用设施设备及设备台账",
    "keys": "钥匙（门禁卡、机房及设备间钥匙）",
    "drawings": "竣工图、地下管网图等工程技术资料",
    "records": "设施设备安装、使用和维护保养记录",
    "owner_roster": "业主名册",
    "prepaid_fees": "预收的物业费等费用",
    "public_revenue": "共有部分经营收益（公共收益）及账目",
    "maintenance_fund": "专项维修资金使用记录",
})

#: Who receives the handover (Art. 949).
RECEIVERS = MappingProxyType({
    "owners_committee": "业主委员会（物业管理委员会）",
    "self_managing_owners": "决定自行管理的业主",
    "nominee": "业主指定的人（如新物业服务人）",
})


def checklist() -> list[str]:
    """The item codes, in order (a fresh list)."""
    return list(HANDOVER_ITEMS)


def _known(items) -> list[str]:
    if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
        raise TypeError("移交项目必须是项目代码的列表")
    items = list(items)
    unknown = [i for i in items if i not in HANDOVER_ITEMS]
    if unknown:
        raise ValueError(f"未知的移交项目：{'、'.join(map(str, unknown))}")
    return items


def merge_confirmed(already, newly) -> list[str]:
    """Items confirmed so far after `newly` are confirmed too, in checklist order."""
    done = set(_known(already)) | set(_known(newly))
    return [code for code in HANDOVER_ITEMS if code in done]


def outstanding(confirmed) -> list[str]:
    """Items not yet confirmed, in checklist order."""
    done = set(_known(confirmed))
    return [code for code in HANDOVER_ITEMS if code not in done]
