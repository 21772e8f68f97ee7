"""CBV 2.0 business steps and dispositions as words people read, in English and Chinese.

The console has the same table (``console/static/words.js``); a test keeps the two equal. A
code not listed (a private extension URI) is shown as its last segment with spaces.
"""

from __future__ import annotations

# code: (English, Chinese)
BIZ_STEPS: dict[str, tuple[str, str]] = {
    "accepting": ("Accepted", "验收"), "arriving": ("Arrived", "到达"), "assembling": ("Assembled", "组装"),
    "collecting": ("Collected", "收集"), "commissioning": ("Registered", "赋码登记"),
    "consigning": ("Consigned", "托运"), "creating_class_instance": ("Produced", "生产"),
    "cycle_counting": ("Counted", "盘点"), "decommissioning": ("Deregistered", "注销"),
    "departing": ("Departed", "离开"), "destroying": ("Destroyed", "销毁"), "disassembling": ("Disassembled", "拆解"),
    "dispensing": ("Dispensed", "分装"), "encoding": ("Encoded", "编码"), "entering_exiting": ("Entered or left", "进出"),
    "holding": ("Held", "扣留"), "inspecting": ("Inspected", "检验"), "installing": ("Installed", "安装"),
    "killing": ("Slaughtered", "屠宰"), "loading": ("Loaded", "装车"), "other": ("Other step", "其他"),
    "packing": ("Packed", "装箱"), "picking": ("Picked", "拣货"), "receiving": ("Received", "收货"),
    "removing": ("Removed", "移除"), "repackaging": ("Repacked", "重新包装"), "repairing": ("Repaired", "维修"),
    "replacing": ("Replaced", "更换"), "reserving": ("Reserved", "预留"), "retail_selling": ("Sold", "零售售出"),
    "sampling": ("Sampled", "抽样"), "sensor_reporting": ("Sensor readings", "传感器记录"),
    "shipping": ("Shipped", "发货"), "staging_outbound": ("Staged for shipping", "待发"),
    "stock_taking": ("Stock taken", "盘库"), "stocking": ("Put on the shelf", "上架"), "storing": ("Stored", "入库存放"),
    "transporting": ("In transport", "运输"), "unloading": ("Unloaded", "卸货"), "unpacking": ("Unpacked", "拆箱"),
    "void_shipping": ("Shipment cancelled", "取消发货"),
}
DISPOSITIONS: dict[str, tuple[str, str]] = {
    "active": ("active", "已启用"), "available": ("available", "可用"),
    "completeness_inferred": ("complete (inferred)", "推定完整"), "completeness_verified": ("complete (checked)", "核验完整"),
    "conformant": ("passed inspection", "检验合格"), "container_closed": ("container closed", "容器已封"),
    "container_open": ("container open", "容器已开"), "damaged": ("damaged", "损坏"), "destroyed": ("destroyed", "已销毁"),
    "dispensed": ("dispensed", "已分装"), "disposed": ("disposed of", "已处置"), "encoded": ("encoded", "已编码"),
    "expired": ("expired", "已过期"), "in_progress": ("in progress", "处理中"), "in_transit": ("in transit", "运输中"),
    "inactive": ("inactive", "未启用"), "mismatch_class": ("wrong product", "品类不符"),
    "mismatch_instance": ("wrong item", "实物不符"), "mismatch_quantity": ("wrong quantity", "数量不符"),
    "needs_replacement": ("needs replacement", "需更换"), "no_pedigree_match": ("no matching record", "无匹配记录"),
    "non_conformant": ("failed inspection", "检验不合格"), "non_sellable_other": ("not for sale", "不可销售"),
    "partially_dispensed": ("partly dispensed", "部分分装"), "recalled": ("recalled", "已召回"),
    "reserved": ("reserved", "已预留"), "retail_sold": ("sold", "已售出"), "returned": ("returned", "已退回"),
    "sellable_accessible": ("on sale", "在售"), "sellable_not_accessible": ("in stock", "库存待售"),
    "stolen": ("stolen", "被盗"), "unavailable": ("unavailable", "不可用"), "unknown": ("unknown", "未知"),
}
STAGES: dict[str, tuple[str, str]] = {
    "farm": ("Farm", "养殖种植"), "processing": ("Processing", "加工"), "storage": ("Cold storage", "冷库"),
    "transport": ("Transport", "运输"), "shelf": ("Shelf", "门店"), "recall": ("Recall", "召回"), "other": ("Step", "环节"),
}


def _bare(code: str) -> str:
    """``https://ref.gs1.org/cbv/BizStep-shipping`` or ``urn:epcglobal:cbv:bizstep:shipping`` -> ``shipping``."""
    tail = code.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return tail.split("-", 1)[1] if tail.startswith(("BizStep-", "Disp-")) else tail


def step_words(code: str | None) -> tuple[str, str]:
    """A business step as (English, Chinese)."""
    bare = _bare(code or "other")
    return BIZ_STEPS.get(bare, (bare.replace("_", " ").capitalize(), bare.replace("_", " ")))


def disposition_words(code: str | None) -> tuple[str, str]:
    """A disposition as (English, Chinese)."""
    bare = _bare(code or "unknown")
    return DISPOSITIONS.get(bare, (bare.replace("_", " "), bare.replace("_", " ")))


def bilingual(words: tuple[str, str]) -> str:
    """``Shipped · 发货``."""
    return f"{words[0]} · {words[1]}"
