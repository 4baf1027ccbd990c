"""Tip thermistor: models, the start-up table, fault classes and resolution."""
from boards.sim import board
from firmware import thermistor
from firmware.thermistor import KELVIN, Beta, Thermistor, ThermistorError, fit_steinhart_hart
from tests.core.support import raises

COLDEST_CC = -9500  # the span the tip must read well: -95 .. +40 C
WARMEST_CC = 4000
LSB_12 = 1 << (16 - 12)  # one 12-bit count on the 16-bit scale


def sim_thermistor():
    return thermistor.from_board(board)


def test_steinhart_hart_fit_reproduces_its_three_points():
    model = fit_steinhart_hart(board.THERMISTOR_POINTS)
    for t_c, ohms in board.THERMISTOR_POINTS:
        assert abs(model.kelvin(ohms) - KELVIN - t_c) < 1e-6


def test_fit_refuses_two_points_and_repeated_resistances():
    raises(ThermistorError, fit_steinhart_hart, ((-30.0, 9740.0), (25.0, 1000.0)))
    raises(ThermistorError, fit_steinhart_hart, ((-90.0, 1000.0), (-30.0, 1000.0), (25.0, 1000.0)))


def test_beta_model_round_trip():
    model = Beta(1000.0, 25.0, 3000.0)
    assert abs(model.ohms(25.0 + KELVIN) - 1000.0) < 1e-9
    for ohms in (200.0, 1000.0, 9740.0, 485000.0):
        assert abs(model.ohms(model.kelvin(ohms)) / ohms - 1.0) < 1e-9


def test_steinhart_hart_ohms_inverts_kelvin():
    model = fit_steinhart_hart(board.THERMISTOR_POINTS)
    for cc in range(COLDEST_CC, WARMEST_CC + 1, 500):
        kelvin = cc / 100 + KELVIN
        assert abs(model.kelvin(model.ohms(kelvin)) - kelvin) < 1e-6


def test_table_interpolation_within_five_centi_c_of_the_formula():
    th = sim_thermistor()
    for raw in range(th.raw_for(WARMEST_CC), th.raw_for(COLDEST_CC) + 1, 7):
        assert th.read(raw) == thermistor.OK
        assert abs(th.cc - th.celsius_at(raw) * 100) <= 5, raw


def test_open_and_short_circuit_readings():
    th = sim_thermistor()
    assert th.read(65535) == thermistor.OPEN
    assert th.read(0) == thermistor.SHORT


def test_readings_beyond_minus_100_or_plus_60_c_are_out_of_range():
    th = sim_thermistor()
    assert th.read(th.raw_for(-10100)) == thermistor.RANGE
    assert th.read(th.raw_for(6100)) == thermistor.RANGE
    assert th.read(th.raw_for(-9900)) == thermistor.OK
    assert th.read(th.raw_for(5900)) == thermistor.OK


def test_one_12_bit_count_is_under_half_a_degree_across_the_span():
    th = sim_thermistor()
    for cc in range(COLDEST_CC, WARMEST_CC + 1, 25):
        raw = th.raw_for(cc) // LSB_12 * LSB_12
        assert abs(th.celsius_at(raw) - th.celsius_at(raw + LSB_12)) < 0.5, cc


def test_bad_adc_bits_or_divider_are_refused():
    model = fit_steinhart_hart(board.THERMISTOR_POINTS)
    for bits in (7, 17):
        raises(ThermistorError, Thermistor, model, board.DIVIDER_OHM, bits)
    for ohms in (0, -1000):
        raises(ThermistorError, Thermistor, model, ohms, board.ADC_BITS)


def test_a_board_with_a_datasheet_beta_gets_the_beta_form():
    from boards.sim import board

    class DatasheetBoard:
        THERMISTOR_POINTS = None
        THERMISTOR_R0_OHM = 1000.0
        THERMISTOR_T0_C = 25.0
        THERMISTOR_BETA = 3000.0
        DIVIDER_OHM = board.DIVIDER_OHM
        ADC_BITS = board.ADC_BITS

    t = thermistor.from_board(DatasheetBoard)
    assert isinstance(t.model, thermistor.Beta)
    assert t.read(t.raw_for(-4000)) == thermistor.OK
    assert -4005 <= t.cc <= -3995


def test_open_and_short_start_a_quarter_of_the_way_from_the_range_edge_to_the_rail():
    from firmware import limits

    for th in (sim_thermistor(), thermistor.from_board(board, True)):
        cold, hot = th.raw_for(limits.READ_MIN_CC), th.raw_for(limits.READ_MAX_CC)
        open_raw = cold + (65535 - cold) // 4
        short_raw = hot - hot // 4
        assert th.read(open_raw) == thermistor.OPEN and th.read(open_raw - 1) == thermistor.RANGE
        assert th.read(short_raw) == thermistor.SHORT and th.read(short_raw + 1) == thermistor.RANGE


def test_a_code_is_a_divider_ratio_of_the_16_bit_full_scale():
    th = sim_thermistor()
    for raw in (1, 21845, 32768, 65534):  # 21845 of 65535: a third of the reference
        expected = board.DIVIDER_OHM * raw / (65535 - raw)
        assert abs(th.ohms_at(raw) / expected - 1.0) < 1e-12, raw


def test_a_datasheet_part_reads_its_datasheet_temperature():
    # A common 10 kOhm NTC's published Steinhart-Hart coefficients: 10 kOhm is 25.00 C.
    th = Thermistor(thermistor.SteinhartHart(1.129148e-3, 2.34125e-4, 8.76741e-8), 10000, 16)
    assert abs(th.celsius_at(32767.5) - 25.0) < 0.001  # mid-scale on an equal divider


def test_steinhart_hart_ohms_is_exact_to_float_precision_for_a_strongly_cubic_part():
    for part in (fit_steinhart_hart(board.THERMISTOR_POINTS),
                 thermistor.SteinhartHart(1.129148e-3, 2.34125e-4, 8.76741e-8)):
        for cc in range(COLDEST_CC, WARMEST_CC + 1, 500):
            kelvin = cc / 100 + 273.15
            assert abs(part.kelvin(part.ohms(kelvin)) - kelvin) < 1e-9, cc


def test_the_whole_range_of_converter_widths_is_accepted_and_sets_one_count():
    model = fit_steinhart_hart(board.THERMISTOR_POINTS)
    for bits, lsb in ((8, 256), (12, 16), (16, 1)):
        assert Thermistor(model, board.DIVIDER_OHM, bits).lsb == lsb
    Thermistor(model, 1, board.ADC_BITS)  # any positive divider


def test_refusals_say_what_is_wrong():
    model = fit_steinhart_hart(board.THERMISTOR_POINTS)
    e = raises(ThermistorError, fit_steinhart_hart, ((-30.0, 9740.0), (25.0, 1000.0)))
    assert str(e) == "Steinhart-Hart needs exactly three calibration points"
    e = raises(ThermistorError, fit_steinhart_hart, ((-90.0, 1.0), (-30.0, 1.0), (25.0, 2.0)))
    assert str(e) == "calibration points must have distinct resistances"
    e = raises(ThermistorError, Thermistor, model, board.DIVIDER_OHM, 7)
    assert str(e) == "adc_bits must be 8..16, got 7"
    e = raises(ThermistorError, Thermistor, model, 0, board.ADC_BITS)
    assert str(e) == "divider_ohm must be positive"


def test_exactly_minus_100_and_plus_60_c_are_readings_beyond_them_a_range_fault():
    # On a 5 kOhm divider the board's part has codes that convert to both edges exactly.
    th = Thermistor(fit_steinhart_hart(board.THERMISTOR_POINTS), 5000, 16)
    for raw, cc in ((65256, -10000), (4198, 6000)):
        assert th.read(raw) == thermistor.OK and th.cc == cc, raw
    for raw in (65257, 4197):
        assert th.read(raw) == thermistor.RANGE, raw


def test_between_the_range_edges_and_the_open_or_short_thresholds_every_reading_is_range():
    th = Thermistor(fit_steinhart_hart(board.THERMISTOR_POINTS), 5000, 16)
    for raw in list(range(65257, th.open_raw)) + list(range(th.short_raw + 1, 4198)):
        assert th.read(raw) == thermistor.RANGE, raw
