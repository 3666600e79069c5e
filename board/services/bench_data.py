"""Synthetic demands and capabilities for the benchmark.

Written as product catalogues and tender notices are: a few sentence templates filled with
component and product words (some the lexicon knows, many it does not), materials, processes,
model numbers, certificates and the generic words real profiles are full of. Word choices
follow a Zipf-like curve, so a few words are everywhere and most are rare, as on a real board.
One record in three is in English. The seed is fixed: two runs build the same data."""

from __future__ import annotations

import random
from dataclasses import dataclass

# -- word pools (Chinese, English) ---------------------------------------------------------
PARTS = [
    ("转向架", "bogie"), ("车门", "door system"), ("制动盘", "brake disc"),
    ("受电弓", "pantograph"), ("接触网", "overhead line"), ("轨道板", "track slab"),
    ("扣件", "rail fastener"), ("道岔", "turnout"), ("站台门", "platform screen door"),
    ("空调机组", "air conditioning unit"), ("照明灯具", "lighting fixture"),
    ("电缆", "cable"), ("传感器", "sensor"), ("齿轮箱", "gearbox"), ("联轴器", "coupling"),
    ("减振器", "damper"), ("车钩", "coupler"), ("座椅", "passenger seat"),
    ("风挡", "gangway bellows"), ("蓄电池", "battery pack"), ("变压器", "transformer"),
    ("开关柜", "switchgear"), ("逆变器", "inverter"), ("牵引电机", "traction motor"),
    ("轴承", "bearing"), ("车轮", "wheel"), ("闸瓦", "brake shoe"), ("密封条", "sealing strip"),
    ("地板布", "floor covering"), ("隔音材料", "acoustic insulation"), ("防火门", "fire door"),
    ("通风机", "ventilation fan"), ("水泵", "water pump"), ("电梯", "elevator"),
    ("自动扶梯", "escalator"), ("闸机", "fare gate"), ("售票机", "ticket vending machine"),
    ("显示屏", "display screen"), ("摄像机", "camera"), ("交换机", "network switch"),
    ("服务器", "server"), ("继电器", "relay"), ("计轴器", "axle counter"),
    ("应答器", "balise"), ("信号机", "signal lamp"), ("无线电台", "radio unit"),
    ("盾构刀具", "tunnelling cutter"), ("管片", "tunnel segment"), ("防水卷材", "waterproof membrane"),
    ("钢轨", "rail"), ("焊接机", "welding machine"), ("打磨车", "grinding vehicle"),
    ("检测车", "inspection car"), ("巡检机器人", "inspection robot"), ("无人机", "drone"),
    ("储能装置", "energy storage unit"), ("光伏组件", "photovoltaic module"),
    ("充电桩", "charging pile"), ("变频器", "frequency converter"), ("控制器", "controller"),
    ("紧固件", "fastening bolt"), ("弹簧", "spring"), ("橡胶件", "rubber part"),
    ("玻璃", "glazing"), ("型材", "extrusion profile"), ("涂料", "coating"),
]
QUALIFIERS = [
    ("高速", "high-speed"), ("轻量化", "lightweight"), ("智能", "smart"), ("低噪声", "low-noise"),
    ("耐腐蚀", "corrosion-resistant"), ("防爆", "explosion-proof"), ("节能", "energy-saving"),
    ("模块化", "modular"), ("免维护", "maintenance-free"), ("大功率", "high-power"),
    ("数字化", "digital"), ("国产化", "domestically made"), ("高精度", "high-precision"),
    ("阻燃", "flame-retardant"), ("无线", "wireless"), ("全自动", "fully automatic"),
]
MATERIALS = [
    ("铝合金", "aluminium alloy"), ("不锈钢", "stainless steel"), ("碳纤维", "carbon fibre"),
    ("复合材料", "composite"), ("铸铁", "cast iron"), ("工程塑料", "engineering plastic"),
    ("硅橡胶", "silicone rubber"), ("陶瓷", "ceramic"), ("钛合金", "titanium alloy"),
]
PROCESSES = [
    ("精密铸造", "precision casting"), ("数控加工", "CNC machining"), ("激光焊接", "laser welding"),
    ("注塑成型", "injection moulding"), ("热处理", "heat treatment"), ("表面喷涂", "surface spraying"),
    ("装配调试", "assembly and commissioning"), ("无损检测", "non-destructive testing"),
    ("状态监测", "condition monitoring"), ("故障诊断", "fault diagnosis"),
    ("寿命预测", "service life prediction"), ("数据分析", "data analytics"),
    ("远程运维", "remote maintenance"), ("仿真分析", "simulation"), ("振动测试", "vibration testing"),
]
SETTINGS = [
    ("地铁", "metro"), ("城市轨道交通", "urban rail transit"), ("高速铁路", "high-speed railway"),
    ("有轨电车", "tramway"), ("轻轨", "light rail"), ("车辆段", "depot"), ("车站", "station"),
    ("隧道", "tunnel"), ("市域铁路", "suburban railway"), ("货运铁路", "freight railway"),
    ("港口", "port"), ("电力", "power grid"), ("汽车", "automotive"), ("工程机械", "construction machinery"),
]
GENERIC = [
    ("解决方案", "solutions"), ("系统集成", "system integration"), ("技术服务", "technical services"),
    ("一站式", "one-stop"), ("高品质", "high quality"), ("行业领先", "industry-leading"),
    ("自主知识产权", "proprietary technology"), ("定制化", "customised"), ("全生命周期", "full life cycle"),
    ("安全可靠", "safe and reliable"), ("降本增效", "cost reduction"), ("售后服务", "after-sales service"),
]
CERTS = [
    ("ISO 9001", "ISO 9001"), ("IRIS认证", "IRIS certified"), ("CRCC认证", "CRCC certified"),
    ("EN 15085", "EN 15085"), ("EN 45545", "EN 45545"), ("高新技术企业", "high-tech enterprise"),
]
CLIENTS_ZH = ["北京", "上海", "广州", "深圳", "成都", "武汉", "西安", "南京", "杭州", "郑州", "长沙", "青岛"]
CLIENTS_EN = ["Beijing", "Shanghai", "Guangzhou", "Shenzhen", "Chengdu", "Wuhan", "Xi'an",
              "Nanjing", "Hangzhou", "Zhengzhou", "Changsha", "Qingdao"]
BRAND_SYLLABLES = ["heng", "tong", "rui", "xin", "kang", "da", "hua", "yuan", "feng", "long",
                   "zhi", "bo", "ke", "jie", "sheng", "tai", "an", "li", "wei", "chuang"]

CAP_TEMPLATES_ZH = [
    "{org}专注于{q}{part}的研发、生产与销售，采用{mat}材料和{proc}工艺，产品已应用于{city}{setting}等项目。",
    "公司主营{part}、{part2}及{part3}，具备{proc}和{proc2}能力，通过{cert}，提供{gen}。",
    "{brand}系列{q}{part}，型号{model}，适用于{setting}和{setting2}，{gen2}，支持{proc}。",
    "拥有{n}条{part}生产线，年产能{cap}台套，为{city}、{city2}{setting}提供{part2}{gen}。",
    "针对{setting}{part}的{proc}需求，开发了基于{tech}的{q}{part2}产品，{gen2}。",
]
CAP_TEMPLATES_EN = [
    "{org} designs and manufactures {q} {part}s in {mat}, using {proc}; our products run on {setting} lines in {city}.",
    "We supply {part}, {part2} and {part3} with {proc} and {proc2} in house, {cert}, offering {gen}.",
    "The {brand} range of {q} {part}s (model {model}) suits {setting} and {setting2} applications; {gen2}.",
    "With {n} production lines for {part}s and {cap} units a year, we deliver {part2} {gen} to {city} and {city2}.",
    "For {proc} of {setting} {part}s we developed a {q} {part2} based on {tech}; {gen2}.",
]
DEM_TEMPLATES_ZH = [
    "{city}{setting}项目需要{q}{part}，要求{proc}，{mat}材质，满足{cert}要求。",
    "寻求{part}{proc}合作伙伴，现有{part2}存在{problem}问题，希望实现{gen}。",
    "拟采购{n}套{q}{part}及{part2}，用于{setting}，需提供{proc}和{gen}。",
    "征集{part}{proc}技术方案，解决{setting}{part2}{problem}的难题。",
]
DEM_TEMPLATES_EN = [
    "The {city} {setting} project needs {q} {part}s made with {proc} in {mat}, meeting {cert}.",
    "Looking for a partner in {proc} of {part}s; our {part2}s suffer from {problem}; we want {gen}.",
    "Tender for {n} sets of {q} {part}s and {part2}s for {setting} use, with {proc} and {gen}.",
    "Call for technical proposals on {part} {proc} to solve {problem} of {setting} {part2}s.",
]
PROBLEMS = [
    ("磨损严重", "heavy wear"), ("噪声过大", "excessive noise"), ("故障率高", "high failure rate"),
    ("能耗偏高", "high energy use"), ("寿命短", "short service life"), ("腐蚀", "corrosion"),
    ("振动超标", "excessive vibration"), ("漏水", "water ingress"),
]
TECH = [
    ("物联网", "IoT"), ("边缘计算", "edge computing"), ("机器视觉", "machine vision"),
    ("数字孪生", "digital twin"), ("北斗定位", "BeiDou positioning"), ("5G通信", "5G communication"),
    ("大数据", "big data"), ("永磁同步", "permanent magnet synchronous drive"),
]


@dataclass(frozen=True)
class Record:
    kind: str  # capability or demand
    ref: str
    organization: str
    title: str
    description: str
    keywords: list[str]


class Generator:
    def __init__(self, seed: int = 20261201):
        self.rng = random.Random(seed)  # nosec B311  # generated benchmark records, nothing secret
        self._zipf: dict[int, list[float]] = {}

    def _pick(self, pool: list, skew: float = 1.0):
        """A Zipf-like choice: the first entries of a pool are the common ones."""
        n = len(pool)
        weights = self._zipf.get((n, skew))
        if weights is None:
            weights = self._zipf[(n, skew)] = [1 / (i + 1) ** skew for i in range(n)]
        return self.rng.choices(pool, weights)[0]

    def _brand(self) -> str:
        return "".join(self.rng.choice(BRAND_SYLLABLES) for _ in range(2)).capitalize()

    def _model(self) -> str:
        r = self.rng
        return f"{r.choice('ABCDHKLMRSTXZ')}{r.choice('ABCDHKLMRSTXZ')}-{r.randint(100, 9999)}"

    def _fill(self, template: str, en: bool, org: str, part) -> str:
        i = 1 if en else 0
        r = self.rng
        parts = [part, self._pick(PARTS, 0.6), self._pick(PARTS, 0.6)]
        values = {
            "org": org,
            "brand": self._brand(),
            "model": self._model(),
            "q": self._pick(QUALIFIERS)[i],
            "part": parts[0][i], "part2": parts[1][i], "part3": parts[2][i],
            "mat": self._pick(MATERIALS)[i],
            "proc": self._pick(PROCESSES, 0.8)[i], "proc2": self._pick(PROCESSES, 0.8)[i],
            "setting": self._pick(SETTINGS, 1.2)[i], "setting2": self._pick(SETTINGS, 1.2)[i],
            "city": (CLIENTS_EN if en else CLIENTS_ZH)[r.randrange(len(CLIENTS_ZH))],
            "city2": (CLIENTS_EN if en else CLIENTS_ZH)[r.randrange(len(CLIENTS_ZH))],
            "gen": self._pick(GENERIC)[i], "gen2": self._pick(GENERIC)[i],
            "cert": self._pick(CERTS)[i],
            "tech": self._pick(TECH)[i],
            "problem": self._pick(PROBLEMS)[i],
            "n": r.randint(2, 40), "cap": r.randint(50, 5000),
        }
        return template.format(**values)

    def _text(self, templates: list[str], en: bool, org: str, part, sentences: int) -> str:
        sep = " " if en else ""
        return sep.join(self._fill(self.rng.choice(templates), en, org, part) for _ in range(sentences))

    def capability(self, i: int) -> Record:
        r = self.rng
        en = i % 3 == 0
        part = self._pick(PARTS, 0.6)
        org = f"{self._brand()} {'Rail Technology Co.' if en else '轨道科技有限公司'}"
        q = self._pick(QUALIFIERS)[1 if en else 0]
        title = f"{q} {part[1]}" if en else f"{q}{part[0]}"
        if r.random() < 0.5:
            extra = self._pick(PARTS, 0.6)[1 if en else 0]
            title += (" and " if en else "与") + extra
        desc = self._text(CAP_TEMPLATES_EN if en else CAP_TEMPLATES_ZH, en, org, part,
                          r.randint(2, 6))
        kw = [part[1 if en else 0], self._pick(PROCESSES, 0.8)[1 if en else 0]]
        if r.random() < 0.5:
            kw.append(self._pick(MATERIALS)[1 if en else 0])
        return Record("capability", f"BC{i}", f"Supplier {i % 5000}", title, desc, kw)

    def demand(self, i: int) -> Record:
        r = self.rng
        en = i % 3 == 1
        part = self._pick(PARTS, 0.6)
        proc = self._pick(PROCESSES, 0.8)[1 if en else 0]
        title = f"{part[1]} {proc}" if en else f"{part[0]}{proc}"
        desc = self._text(DEM_TEMPLATES_EN if en else DEM_TEMPLATES_ZH, en, "", part, r.randint(1, 4))
        kw = [part[1 if en else 0]]
        if r.random() < 0.6:
            kw.append(proc)
        return Record("demand", f"BD{i}", f"Operator {i % 300}", title, desc, kw)

    def capabilities(self, n: int, start: int = 0) -> list[Record]:
        return [self.capability(i) for i in range(start, start + n)]

    def demands(self, n: int, start: int = 0) -> list[Record]:
        return [self.demand(i) for i in range(start, start + n)]
