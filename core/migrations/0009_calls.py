from tortoise import migrations
from tortoise.migrations import operations as ops
from leadwire.core.models.calls import AttemptStatus, CallStatus
from leadwire.core.models.leads import LeadKind
from leadwire.core.models.marketplace import CampaignLeadTypes, RoutingOutcome
from leadwire.core.models.money import NotificationKind
from leadwire.core.models.returns import ReturnReason
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('leadwire', '0008_reports')]

    initial = False

    operations = [
        ops.CreateModel(
            name='TrackingNumber',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('leadwire.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='tracking_numbers', on_delete=OnDelete.RESTRICT)),
                ('number', fields.CharField(unique=True, max_length=32)),
                ('provider', fields.CharField(max_length=50)),
                ('industry', fields.ForeignKeyField('leadwire.Industry', source_field='industry_id', db_constraint=True, to_field='id', related_name='tracking_numbers', on_delete=OnDelete.RESTRICT)),
                ('product', fields.ForeignKeyField('leadwire.Product', source_field='product_id', db_constraint=True, to_field='id', related_name='tracking_numbers', on_delete=OnDelete.RESTRICT)),
                ('source', fields.ForeignKeyField('leadwire.LeadSource', source_field='source_id', null=True, db_constraint=True, to_field='id', related_name='tracking_numbers', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(default='', max_length=100)),
                ('ask_zip', fields.BooleanField(default=False)),
                ('fallback_message', fields.CharField(default='', max_length=500)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'tracking_number', 'app': 'leadwire', 'pk_attr': 'id', 'table_description': 'A phone number the operator advertises for one product (and optionally'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Call',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('provider', fields.CharField(max_length=50)),
                ('call_sid', fields.CharField(max_length=64)),
                ('tracking_number', fields.ForeignKeyField('leadwire.TrackingNumber', source_field='tracking_number_id', db_constraint=True, to_field='id', related_name='calls', on_delete=OnDelete.RESTRICT)),
                ('lead', fields.ForeignKeyField('leadwire.Lead', source_field='lead_id', null=True, db_constraint=True, to_field='id', related_name='calls', on_delete=OnDelete.RESTRICT)),
                ('buyer_lead', fields.ForeignKeyField('leadwire.Lead', source_field='buyer_lead_id', null=True, db_constraint=True, to_field='id', related_name='bought_calls', on_delete=OnDelete.SET_NULL)),
                ('buyer_account_id', fields.BigIntField(null=True)),
                ('caller', fields.CharField(default='', max_length=32)),
                ('location_from', fields.CharField(default='', max_length=16)),
                ('status', fields.CharEnumField(default=CallStatus.ROUTING, description='ROUTING: routing\nBILLED: billed\nNOT_BILLED: not_billed\nMISSED: missed\nFALLBACK: fallback\nABANDONED: abandoned', enum_type=CallStatus, max_length=16)),
                ('duration_seconds', fields.IntField(default=0)),
                ('recording_url', fields.CharField(default='', max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'call', 'app': 'leadwire', 'unique_together': (('provider', 'call_sid'),), 'pk_attr': 'id', 'table_description': "One inbound call, known by the provider's id (CallSid): every webhook of"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CallAttempt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('call', fields.ForeignKeyField('leadwire.Call', source_field='call_id', db_constraint=True, to_field='id', related_name='attempts', on_delete=OnDelete.CASCADE)),
                ('campaign', fields.ForeignKeyField('leadwire.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='call_attempts', on_delete=OnDelete.RESTRICT)),
                ('position', fields.SmallIntField()),
                ('status', fields.CharEnumField(default=AttemptStatus.RINGING, description='RINGING: ringing\nANSWERED: answered\nNO_ANSWER: no_answer\nBUSY: busy\nFAILED: failed\nCANCELED: canceled', enum_type=AttemptStatus, max_length=16)),
                ('duration_seconds', fields.IntField(default=0)),
                ('billable', fields.BooleanField(default=False)),
                ('response_body', fields.TextField(default='', unique=False)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'call_attempt', 'app': 'leadwire', 'unique_together': (('call_id', 'position'),), 'indexes': [Index(fields=['campaign_id', 'status'])], 'pk_attr': 'id', 'table_description': 'One ring of the ring tree: the call offered to one campaign. While it'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Campaign',
            name='active_calls',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Campaign',
            name='buyer_phone',
            field=fields.CharField(default='', db_default='', max_length=32),
        ),
        ops.AddField(
            model_name='Campaign',
            name='lead_types',
            field=fields.CharEnumField(default=CampaignLeadTypes.WEB, description='WEB: web\nCALL: call\nBOTH: both', db_default='web', enum_type=CampaignLeadTypes, max_length=8),
        ),
        ops.AddField(
            model_name='Campaign',
            name='max_concurrent_calls',
            field=fields.IntField(default=1, db_default=1),
        ),
        ops.AddField(
            model_name='Campaign',
            name='missed_calls_in_row',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Lead',
            name='kind',
            field=fields.CharEnumField(default=LeadKind.WEB, description='WEB: web\nCALL: call', db_default='web', enum_type=LeadKind, max_length=8),
        ),
        ops.AlterField(
            model_name='Notification',
            name='kind',
            field=fields.CharEnumField(description='AUTO_CHARGE_FAILED: auto_charge_failed\nAUTO_CHARGE_SUSPENDED: auto_charge_suspended\nRETURN_REVIEWED: return_reviewed\nACCOUNT_CLOSED: account_closed\nREFUND_SENT: refund_sent\nCAMPAIGN_PAUSED: campaign_paused', enum_type=NotificationKind, max_length=30),
        ),
        ops.AddField(
            model_name='Offer',
            name='min_call_seconds',
            field=fields.IntField(default=90, db_default=90),
        ),
        ops.AlterField(
            model_name='ReturnRequest',
            name='reason',
            field=fields.CharEnumField(description='NO_WORKING_PHONE: no_working_phone\nNEVER_REQUESTED_QUOTE: never_requested_quote\nOUTSIDE_FILTER_AT_DELIVERY: outside_filter_at_delivery\nWRONG_NUMBER: wrong_number\nNO_CUSTOMER_ON_LINE: no_customer_on_line\nDUPLICATE_CALLER: duplicate_caller\nREPRESENTATIVE_FOR_CONSUMER: representative_for_consumer\nCALLED_BY_OTHER_AGENTS: called_by_other_agents\nCONSUMER_UNRESPONSIVE: consumer_unresponsive\nEMAIL_UNANSWERED_OR_INVALID: email_unanswered_or_invalid\nFILTER_CHANGED_WITHOUT_PAUSE: filter_changed_without_pause\nNOTIFICATION_NOT_RECEIVED: notification_not_received', enum_type=ReturnReason, max_length=40),
        ),
        ops.AlterField(
            model_name='RoutingDecision',
            name='outcome',
            field=fields.CharEnumField(description='SOLD: sold\nDISABLED: disabled\nPAUSED: paused\nFIELD_FILTER: field_filter\nSCHEDULE: schedule\nCAP: cap\nBALANCE: balance\nOUTRANKED: outranked\nACCOUNT_CLOSED: account_closed\nNOT_APPROVED: not_approved\nLINES_BUSY: lines_busy\nNO_ANSWER: no_answer\nSHORT_CALL: short_call', enum_type=RoutingOutcome, max_length=16),
        ),
    ]
