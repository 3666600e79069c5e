"""Explanations that are true: a reason names a concept only where the text means it.

Each pair is (text, concept id). MUST_FIRE: the concept (or a narrower one) is found in the
text. MUST_NOT_FIRE: neither the concept nor anything under it is found, directly or through a
broader link. The texts are written for this test in the way firms write profiles."""

import pytest

from board.matching import Doc
from board.matching.score import profile

MUST_FIRE = [
    ("ＬＴＥ－Ｍ车地无线综合承载", "train_ground_communication"),
    ("Train-to-ground radio with radiating cable", "train_ground_communication"),
    ("地铁车站环控系统节能", "station_environmental_control"),
    ("station environmental control system", "station_environmental_control"),
    ("装配式地铁车站", "prefabricated_station"),
    ("precast assembled station structures", "prefabricated_station"),
    ("施工图设计阶段", "detailed_design"),
    ("detailed design drawings", "detailed_design"),
    ("轨旁检测设备", "wayside_monitoring"),
    ("车载走行部检测", "onboard_monitoring"),
    ("合同能源管理模式", "energy_performance_contracting"),
    ("energy performance contracting (shared savings)", "energy_performance_contracting"),
    ("EMC模式节能改造，节能效益分享", "energy_performance_contracting"),
    ("EMC emission and immunity testing to EN 50121", "emc"),
    ("轨道交通电磁兼容（EMC）试验", "emc"),
    ("地铁车辆牵引逆变器", "traction_converter"),
    ("VVVF inverter of metro cars", "traction_converter"),
    ("轴箱轴承", "axle_box_bearing"),
    ("GoA4 driverless metro", "fao"),
    ("无人驾驶地铁", "fao"),
    ("道岔整组更换", "turnout"),
    ("turnout replacement", "turnout"),
    ("受电弓碳滑板磨耗", "carbon_strip"),
    ("pantograph carbon strips", "carbon_strip"),
    ("盾构刀具磨损监测", "tbm_cutter"),
    ("disc cutter wear of the TBM", "tbm_cutter"),
    ("wheel wear measurement at depot entry", "wheel"),
    ("车轮踏面擦伤", "wheel"),
    ("BAS环控系统", "station_environmental_control"),
    ("PSCADA主站", "power_scada"),
    ("计算机联锁 SIL4", "computer_interlocking"),
    ("常压换刀", "atmospheric_cutter_change"),
    ("night possession", "possession"),
    ("天窗施工", "possession"),
    ("BMS of the on-board traction battery", "battery_management"),
    ("Building management system for metro stations", "station_environmental_control"),
    ("地铁车站照明LED改造", "led_lighting"),
]

MUST_NOT_FIRE = [
    ("Motor current monitoring for industrial pumps", "traction_motor"),
    ("Inverter air conditioners for homes", "traction_converter"),
    ("家用变频空调", "station_hvac"),
    ("家用变频空调", "vehicle_hvac"),
    ("Solar inverters for rooftop plants", "traction_converter"),
    ("Skateboard bearings", "bogie"),
    ("风力发电机主轴轴承", "axle_box_bearing"),
    ("Road traffic signal controllers for junctions", "signalling"),
    ("道路交通信号控制机", "signalling"),
    ("专业滑板、滑板轮", "carbon_strip"),
    ("专业滑板、滑板轮", "pantograph"),
    ("Pantograph chargers for electric buses", "pantograph"),
    ("Building management systems (BMS) for offices and hotels", "battery_management"),
    ("BAS for office towers and hotels", "station_environmental_control"),
    ("DAS coverage in malls and stadiums", "fibre_optic_sensing"),
    ("EMC pre-compliance for smartphones", "energy_performance_contracting"),
    ("合同能源管理（EMC）", "emc"),
    ("Kitchen knives and vegetable cutters", "tbm_cutter"),
    ("厨房刀具磨损修复", "tbm_cutter"),
    ("急速冷冻水饺", "ground_freezing"),
    ("冷冻库与冷链运输", "ground_freezing"),
    ("Customer segmentation analytics", "precast_segment"),
    ("Wind tunnel testing for tall buildings", "tunnel_construction"),
    ("Car driving simulators for driving schools", "driver_simulator"),
    ("家用Wi-Fi路由器", "train_ground_communication"),
    ("4G and 5G small cells for mobile operators", "lte_m"),
    ("淋浴房玻璃门与推拉门", "platform_screen_door"),
    ("Automatic sliding doors for supermarkets", "train_door"),
    ("Turnstiles for stadiums and gyms", "afc"),
    ("停车场道闸与车牌识别", "afc"),
    ("Self-checkout kiosks for supermarkets", "ticket_vending_machine"),
    ("LED lighting retrofits for warehouses", "station_equipment"),
    ("电动自行车永磁轮毂电机", "pm_traction"),
    ("Steam turbine bearing overhaul", "bogie"),
    ("Antivirus for home networks", "ics_security"),
    ("Drilling mud solids control for oil wells", "shield_tunnelling"),
    ("Gantry cranes for container terminals", "bridge_erection"),
    ("公交智能调度", "occ"),
    ("Smart TVs and digital signage", "pis"),
    ("Home smart cameras and baby monitors", "cctv"),
    ("DCS for thermal power plants", "data_communication_system"),
    ("the DCS radio of the CBTC system", "industrial_control"),
    ("Road resurfacing and bridge joint replacement", "track_maintenance"),
    ("Model railway track for hobbyists", "track_engineering"),
    # Words that only look like a term: joined across words or punctuation, or spelt near it.
    ("It is a network that carries several services", "independent_safety_assessment"),
    ("Platform screen doors; design of the stations", "station_design"),
    ("Route planning for parcel fleets", "network_equipment"),
    ("Smart transportation dashboards", "interchange_hub"),
    ("real-time service messages", "precise_timing"),
    ("电动车永磁轮毂电机", "emu"),
    ("数控机床刀具磨损实时监测", "cutter_wear"),
    ("停车场道闸与扫码缴费", "stabling_yard"),
    ("冷站群控与节能控制", "eco_driving"),
    ("Precast concrete factory drawings for culverts", "factory"),
    ("側牆板、頂板、行李架", "station_main_structure"),
]


def _found(engine, text: str) -> set[str]:
    a = engine.analyze(Doc(1, text))
    return set(profile(a, engine.lexicon, engine.weights).vec)


@pytest.mark.parametrize(("text", "concept"), MUST_FIRE)
def test_the_lexicon_fires_where_the_text_means_the_concept(engine, text, concept):
    assert concept in engine.lexicon.concepts, concept
    assert concept in _found(engine, text)


@pytest.mark.parametrize(("text", "concept"), MUST_NOT_FIRE)
def test_the_lexicon_does_not_fire_where_the_text_means_something_else(engine, text, concept):
    assert concept in engine.lexicon.concepts, concept
    assert concept not in _found(engine, text)


def test_reasons_quote_only_words_of_their_own_concept(engine):
    d = engine.analyze(Doc(1, "地铁车辆牵引电机更换", "永磁同步牵引电机，电机电流监测"))
    c = engine.analyze(Doc(2, "Permanent magnet motors for pumps", "Motor current monitoring for fans"))
    reasons = engine.score(d, c).reasons["concepts"]
    rail = [r for r in reasons if engine.lexicon.concepts[r["id"]].domain == "rail"]
    assert rail == [], rail
