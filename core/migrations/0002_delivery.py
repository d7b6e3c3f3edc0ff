from tortoise import migrations
from tortoise.migrations import operations as ops
from leadwire.core.models.delivery import AttemptOutcome, DeliveryStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('leadwire', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Delivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('sale', fields.ForeignKeyField('leadwire.LeadSale', source_field='sale_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.RESTRICT)),
                ('account', fields.ForeignKeyField('leadwire.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.RESTRICT)),
                ('buyer_lead', fields.ForeignKeyField('leadwire.Lead', source_field='buyer_lead_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.RESTRICT)),
                ('channel', fields.CharField(max_length=50)),
                ('generation', fields.SmallIntField(default=1)),
                ('status', fields.CharEnumField(default=DeliveryStatus.PENDING, description='PENDING: pending\nDELIVERED: delivered\nFAILED: failed', enum_type=DeliveryStatus, max_length=16)),
                ('idempotency_key', fields.CharField(unique=True, max_length=64)),
                ('attempts', fields.SmallIntField(default=0)),
                ('max_attempts', fields.SmallIntField(default=8)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('provider_message_id', fields.CharField(default='', max_length=200)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('requested_by', fields.ForeignKeyField('leadwire.Membership', source_field='requested_by_id', null=True, db_constraint=True, to_field='id', related_name='requested_deliveries', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'delivery', 'app': 'leadwire', 'unique_together': (('sale_id', 'channel', 'generation'),), 'indexes': [Index(fields=['buyer_lead_id', 'created_at']), Index(fields=['status', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One delivery of one sale through one channel. A re-send is a new row'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DeliveryAttempt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('delivery', fields.ForeignKeyField('leadwire.Delivery', source_field='delivery_id', db_constraint=True, to_field='id', related_name='attempt_log', on_delete=OnDelete.CASCADE)),
                ('number', fields.SmallIntField()),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('latency_ms', fields.IntField(null=True)),
                ('outcome', fields.CharEnumField(default=AttemptOutcome.IN_PROGRESS, description='IN_PROGRESS: in_progress\nDELIVERED: delivered\nRETRY: retry\nFAILED: failed\nINTERRUPTED: interrupted', enum_type=AttemptOutcome, max_length=16)),
                ('status_code', fields.IntField(null=True)),
                ('provider_message_id', fields.CharField(default='', max_length=200)),
                ('error', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'delivery_attempt', 'app': 'leadwire', 'unique_together': (('delivery_id', 'number'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
