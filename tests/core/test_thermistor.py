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
