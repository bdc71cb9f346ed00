/*
 * test_rates.c - unit tests of cbctl watch's rates and rejection
 * sparkline (cbctl/rates.c), with a fake clock: every "now" is a number
 * chosen here, aligned so the 5-s cells fall where the comments say.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../cbctl/rates.h"

#define T0 600000ull		/* 10 min: the start of cell 120 */
#define SPARK_LEN (3 * CBCTL_SPARK_CELLS + 1)

static void
spark(const struct cbctl_rate *h, uint64_t now, char *buf)
{
	cbctl_rate_spark(h, now, 0, buf, SPARK_LEN);
}

static void
first_sample_has_no_rates_then_rates_are_per_second_deltas(void **state)
{
	struct cbctl_rate h = { .name = "10.0.0.1:80" };

	(void)state;
	cbctl_rate_sample(&h, 10, 2, 0, T0);
	assert_int_equal(h.have_rates, 0);
	cbctl_rate_sample(&h, 30, 6, 10, T0 + 2000);
	assert_int_equal(h.have_rates, 1);
	assert_true(h.calls_s == 10.0);
	assert_true(h.failed_s == 2.0);
	assert_true(h.rejected_s == 5.0);
	cbctl_rate_sample(&h, 31, 6, 10, T0 + 2500);	/* a short interval */
	assert_true(h.calls_s == 2.0);
	assert_true(h.rejected_s == 0.0);
}

static void
same_instant_changes_nothing(void **state)
{
	struct cbctl_rate h = { .name = "a" };

	(void)state;
	cbctl_rate_sample(&h, 0, 0, 0, T0);
	cbctl_rate_sample(&h, 10, 0, 0, T0 + 1000);
	cbctl_rate_sample(&h, 99, 0, 0, T0 + 1000);
	assert_true(h.calls_s == 10.0);
	assert_int_equal(h.calls, 10);
}

static void
counters_that_went_down_start_over(void **state)
{
	struct cbctl_rate h = { .name = "a" };
	char s[SPARK_LEN];

	(void)state;
	cbctl_rate_sample(&h, 100, 50, 40, T0);
	cbctl_rate_sample(&h, 200, 60, 90, T0 + 5000);
	assert_int_equal(h.have_rates, 1);
	/* breaker reclaimed and made again: no negative rate, no old bars */
	cbctl_rate_sample(&h, 3, 0, 1, T0 + 10000);
	assert_int_equal(h.have_rates, 0);
	spark(&h, T0 + 10000, s);	/* cell 122 only */
	assert_string_equal(s, "           _");
	cbctl_rate_sample(&h, 13, 0, 1, T0 + 11000);
	assert_int_equal(h.have_rates, 1);
	assert_true(h.calls_s == 10.0);
}

static void
spark_is_blank_before_the_first_sample_and_low_for_none(void **state)
{
	struct cbctl_rate h = { .name = "a" };
	char s[SPARK_LEN];

	(void)state;
	cbctl_rate_sample(&h, 0, 0, 0, T0);
	spark(&h, T0, s);
	assert_string_equal(s, "           _");
	cbctl_rate_sample(&h, 5, 0, 0, T0 + 5000);
	spark(&h, T0 + 5000, s);
	assert_string_equal(s, "          __");
}

static void
spark_scales_to_the_busiest_cell_of_the_minute(void **state)
{
	struct cbctl_rate h = { .name = "a" };
	char s[SPARK_LEN];

	(void)state;
	cbctl_rate_sample(&h, 0, 0, 0, T0);
	cbctl_rate_sample(&h, 10, 0, 10, T0 + 5000);	/* cell 120: 10 */
	cbctl_rate_sample(&h, 15, 0, 15, T0 + 10000);	/* cell 121: 5 */
	spark(&h, T0 + 10000, s);
	assert_string_equal(s, "         #=_");
	cbctl_rate_spark(&h, T0 + 10000, 1, s, sizeof(s));
	assert_string_equal(s, "         \u2588\u2585\u2581");
}

static void
an_interval_is_spread_over_its_cells_in_proportion(void **state)
{
	struct cbctl_rate h = { .name = "a" };
	char s[SPARK_LEN];

	(void)state;
	cbctl_rate_sample(&h, 0, 0, 0, T0 + 2500);
	/* 10 s over cells 120 (2.5 s), 121 (5 s), 122 (2.5 s) */
	cbctl_rate_sample(&h, 0, 0, 100, T0 + 12500);
	assert_true(h.rejected_s == 10.0);
	assert_true(h.cell[120 % CBCTL_SPARK_CELLS] == 25.0);
	assert_true(h.cell[121 % CBCTL_SPARK_CELLS] == 50.0);
	assert_true(h.cell[122 % CBCTL_SPARK_CELLS] == 25.0);
	spark(&h, T0 + 12500, s);
	assert_string_equal(s, "         =#=");
}

static void
a_long_interval_fills_only_the_last_minute(void **state)
{
	struct cbctl_rate h = { .name = "a" };
	char s[SPARK_LEN];
	int i;

	(void)state;
	cbctl_rate_sample(&h, 0, 0, 0, T0);
	cbctl_rate_sample(&h, 0, 0, 1200, T0 + 120000);	/* 10/s for 2 min */
	assert_true(h.rejected_s == 10.0);
	for (i = 0; i < CBCTL_SPARK_CELLS; i++)
		if (h.cell_no[i] != UINT64_MAX)
			assert_true(h.cell[i] == 50.0);
	spark(&h, T0 + 120000, s);	/* the current cell has just begun */
	assert_string_equal(s, "###########_");
}

static void
old_cells_leave_the_minute(void **state)
{
	struct cbctl_rate h = { .name = "a" };
	char s[SPARK_LEN];

	(void)state;
	cbctl_rate_sample(&h, 0, 0, 0, T0);
	cbctl_rate_sample(&h, 0, 0, 10, T0 + 5000);
	spark(&h, T0 + 55000, s);	/* cell 120 is the oldest shown */
	assert_string_equal(s, "#___________");
	spark(&h, T0 + 60000, s);	/* and now it is gone */
	assert_string_equal(s, "____________");
	cbctl_rate_sample(&h, 0, 0, 10, T0 + 70000);
	spark(&h, T0 + 70000, s);
	assert_string_equal(s, "____________");
}

static void
early_clock_shows_no_cells_before_zero(void **state)
{
	struct cbctl_rate h = { .name = "a" };
	char s[SPARK_LEN];

	(void)state;
	cbctl_rate_sample(&h, 0, 0, 0, 0);
	cbctl_rate_sample(&h, 0, 0, 4, 8000);	/* cell 0: 2.5, cell 1: 1.5 */
	spark(&h, 8000, s);
	assert_string_equal(s, "          #+");
}

static void
frame_keeps_history_by_name_and_forgets_missing_ones(void **state)
{
	struct cbctl_row rows[2];
	struct cbctl_rates r = { NULL, 0 };

	(void)state;
	memset(rows, 0, sizeof(rows));
	strcpy(rows[0].name, "10.0.0.1:80");
	strcpy(rows[1].name, "10.0.0.2:80");
	rows[1].s.total_calls = 100;
	assert_int_equal(cbctl_rates_frame(&r, rows, 2, T0), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.v[0].have_rates, 0);
	/* next frame: .1 is gone, .2 moved first, .3 is new */
	strcpy(rows[0].name, "10.0.0.2:80");
	rows[0].s.total_calls = 300;
	rows[0].s.rejected_calls = 20;
	strcpy(rows[1].name, "10.0.0.3:80");
	rows[1].s.total_calls = 7;
	assert_int_equal(cbctl_rates_frame(&r, rows, 2, T0 + 2000), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.v[0].name, "10.0.0.2:80");
	assert_int_equal(r.v[0].have_rates, 1);
	assert_true(r.v[0].calls_s == 100.0);
	assert_true(r.v[0].rejected_s == 10.0);
	assert_string_equal(r.v[1].name, "10.0.0.3:80");
	assert_int_equal(r.v[1].have_rates, 0);
	assert_int_equal(cbctl_rates_frame(&r, rows, 0, T0 + 3000), 0);
	assert_int_equal(r.n, 0);
	cbctl_rates_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_sample_has_no_rates_then_rates_are_per_second_deltas),
		cmocka_unit_test(same_instant_changes_nothing),
		cmocka_unit_test(counters_that_went_down_start_over),
		cmocka_unit_test(spark_is_blank_before_the_first_sample_and_low_for_none),
		cmocka_unit_test(spark_scales_to_the_busiest_cell_of_the_minute),
		cmocka_unit_test(an_interval_is_spread_over_its_cells_in_proportion),
		cmocka_unit_test(a_long_interval_fills_only_the_last_minute),
		cmocka_unit_test(old_cells_leave_the_minute),
		cmocka_unit_test(early_clock_shows_no_cells_before_zero),
		cmocka_unit_test(frame_keeps_history_by_name_and_forgets_missing_ones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
