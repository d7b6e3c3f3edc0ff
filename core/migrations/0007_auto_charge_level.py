from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('leadwire', '0006_lead_account_id_index')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Account',
            name='auto_charge_below_minor',
            field=fields.BigIntField(null=True),
        ),
    ]
