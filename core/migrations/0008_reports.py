from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('leadwire', '0007_auto_charge_level')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ReportExport',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('membership', fields.ForeignKeyField('leadwire.Membership', source_field='membership_id', db_constraint=True, to_field='id', related_name='report_exports', on_delete=OnDelete.CASCADE)),
                ('format', fields.CharField(max_length=8)),
                ('lead_filter', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'report_export', 'app': 'leadwire', 'pk_attr': 'id', 'table_description': 'One requested download. Valid until ``expires_at``, used once (``used_at``'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Lead',
            name='stage_entered_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RemoveIndex(
            model_name='LeadSale',
            name=None,
            fields=['account_id', 'sold_at'],
        ),
        ops.RemoveIndex(
            model_name='LeadSale',
            name=None,
            fields=['campaign_id', 'sold_at'],
        ),
        ops.AddIndex(
            model_name='LeadSale',
            index=Index(fields=['account_id', 'sold_at', 'price_minor']),
        ),
        ops.AddIndex(
            model_name='LeadSale',
            index=Index(fields=['campaign_id', 'sold_at', 'price_minor']),
        ),
        ops.AddIndex(
            model_name='ReturnRequest',
            index=Index(fields=['buyer_lead_id']),
        ),
        ops.RemoveIndex(
            model_name='RoutingDecision',
            name=None,
            fields=['campaign_id', 'decided_at'],
        ),
        ops.AddIndex(
            model_name='RoutingDecision',
            index=Index(fields=['campaign_id', 'decided_at', 'outcome']),
        ),
    ]
