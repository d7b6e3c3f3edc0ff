from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('leadwire', '0004_workspace')]

    initial = False

    operations = [
        ops.AddConstraint(
            model_name='LeadSale',
            constraint=UniqueConstraint(fields=('buyer_lead_id',), name=None),
        ),
    ]
