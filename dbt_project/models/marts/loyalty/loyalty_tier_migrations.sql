-- One row per month (business calendar, of the change) and tier move recorded by the CRM
-- (stg_crm__tier_changes): joins (from_tier 'none'), upgrades and downgrades, with the number of
-- members who made that move in the month. Tier order comes from loyalty.tiers.
with

tier_changes as (
    select * from {{ ref('stg_crm__tier_changes') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

changes as (
    select
        date_trunc('month', {{ business_date('t.changed_at') }})::date as change_month,
        coalesce(t.from_tier, 'none') as from_tier,
        t.to_tier,
        t.customer_id,
        t.tier_change_id,
        {{ loyalty_tier_rank('t.from_tier') }} as from_tier_rank,
        {{ loyalty_tier_rank('t.to_tier') }} as to_tier_rank
    from tier_changes as t
    cross join as_of
    where {{ business_date('t.changed_at') }} <= as_of.as_of_date
),

moves as (
    select
        change_month,
        from_tier,
        to_tier,
        min(from_tier_rank) as from_tier_rank,
        min(to_tier_rank) as to_tier_rank,
        count(distinct customer_id) as members,
        count(*) as tier_changes
    from changes
    group by change_month, from_tier, to_tier
),

final as (
    select
        change_month || ':' || from_tier || '>' || to_tier as tier_migration_id,
        change_month,
        from_tier,
        to_tier,
        case
            when from_tier = 'none' then 'joined'
            when from_tier_rank is null or to_tier_rank is null then 'unknown_tier'
            when to_tier_rank > from_tier_rank then 'upgrade'
            when to_tier_rank < from_tier_rank then 'downgrade'
            else 'unchanged'
        end as migration_type,
        coalesce(to_tier_rank - from_tier_rank, to_tier_rank)::integer as tier_steps,
        members::integer as members,
        tier_changes::integer as tier_changes
    from moves
)

select * from final
