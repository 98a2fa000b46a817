{#- A per-row truth of a model's contract (an interval contains its estimate, a part is at most
    its whole, two complementary rates add up to 100 ...): the rows where `expression` is false
    fail. A null result passes, so `a >= b` holds vacuously when either side is missing (write
    `coalesce` into the expression when a missing value is itself an error). Batch checks
    (volume, freshness, distributions, match rates) stay in Great Expectations.
    Usage (model level):
      data_tests:
        - expression_is_true:
            arguments: {expression: "nps_ci_low <= nps"} -#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}
